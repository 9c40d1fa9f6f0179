import { describe, expect, it } from 'vitest'
import { computeEpsilon, DEFAULT_ORDERS } from '../../shared/privacy/index.ts'
import { samplingRate, spendRound } from './budget.ts'

describe('the privacy budget', () => {
  it('samples devices selected over the population, at most all of them', () => {
    expect(samplingRate(13, 1000)).toBe(0.013)
    expect(samplingRate(13, 5)).toBe(1)
    expect(samplingRate(13, 0)).toBe(1)
  })

  it('adds rounds up as the accountant does', () => {
    const privacy = { noiseMultiplier: 1.1, delta: 1e-5 }
    let spent = spendRound(null, privacy, 0.01)
    for (let i = 1; i < 100; i++) spent = spendRound(spent, privacy, 0.01)
    const want = computeEpsilon({ q: 0.01, sigma: 1.1, steps: 100, delta: 1e-5 }).epsilon
    expect(spent.epsilon).toBeCloseTo(want, 10)
    expect(spent.rdp).toHaveLength(DEFAULT_ORDERS.length)
  })

  it('keeps an order stored as null (JSON’s infinity) infinite after a restart', () => {
    const privacy = { noiseMultiplier: 1, delta: 1e-5 }
    const stored = JSON.parse(JSON.stringify(spendRound(null, privacy, 0.5))) as ReturnType<
      typeof spendRound
    >
    const all = stored.rdp.map(() => null) as unknown as number[]
    // Every order infinite before: no finite ε can come out of one more round.
    expect(spendRound({ rdp: all, epsilon: 0 }, privacy, 0.5).epsilon).toBe(
      Number.POSITIVE_INFINITY,
    )
  })
})
