import { describe, expect, it } from 'vitest'
import { WEIGHTINGS, type Weighting } from '../protocol/index.ts'
import { tensor, values } from './fixtures.ts'
import { createDeltaMean, createNormalizedMean, type LocalWork } from './index.ts'

const spec = [{ name: 'w', shape: [2] }]

/** The aggregate of [delta, work] reports under one weighting. */
function aggregate(weighting: Weighting, reports: [number[], LocalWork][]) {
  const mean = createDeltaMean(weighting, spec)
  for (const [delta, work] of reports) mean.add([tensor('w', delta)], work)
  return values(mean.mean()?.[0])
}

describe('normalized weighting (FedNova)', () => {
  it('does not let the device that ran more steps pull harder', () => {
    // Same data (10 examples each), same per-step progress, along different axes:
    // A ran 1 step and moved [1, 0]; B ran 4 steps and moved [0, 4].
    const reports: [number[], LocalWork][] = [
      [[1, 0], { examples: 10, steps: 1 }],
      [[0, 4], { examples: 10, steps: 4 }],
    ]
    // examples: (10·[1, 0] + 10·[0, 4]) / 20 = [0.5, 2]: four times as far towards B.
    expect(aggregate('examples', reports)).toEqual([0.5, 2])
    // normalized: p = [0.5, 0.5], Σpτ = 0.5·1 + 0.5·4 = 2.5,
    // Σp·Δ/τ = 0.5·[1, 0] + 0.5·[0, 1] = [0.5, 0.5], Δ = 2.5·[0.5, 0.5] = [1.25, 1.25]: even.
    expect(aggregate('normalized', reports)).toEqual([1.25, 1.25])
  })

  it('weighs each device by its data share, not its data times its steps', () => {
    // A: 30 examples, 2 steps, Δ = [2, 0]; B: 10 examples, 5 steps, Δ = [0, 5].
    const reports: [number[], LocalWork][] = [
      [[2, 0], { examples: 30, steps: 2 }],
      [[0, 5], { examples: 10, steps: 5 }],
    ]
    // examples: (30·[2, 0] + 10·[0, 5]) / 40 = [1.5, 1.25]: A's 3:1 data share shrinks to 1.2:1.
    expect(aggregate('examples', reports)).toEqual([1.5, 1.25])
    // uniform: ([2, 0] + [0, 5]) / 2 = [1, 2.5]
    expect(aggregate('uniform', reports)).toEqual([1, 2.5])
    // normalized: p = [0.75, 0.25], Σpτ = 1.5 + 1.25 = 2.75, Σp·Δ/τ = [0.75, 0.25],
    // Δ = 2.75·[0.75, 0.25] = [2.0625, 0.6875]: 3:1, the data share.
    expect(aggregate('normalized', reports)).toEqual([2.0625, 0.6875])
  })

  it('is the example-weighted mean when every device ran the same steps', () => {
    // τ = 3 for both, n = [1, 3]: Σpτ = 3, Σp·Δ/τ = [0.25, 0.75], Δ = [0.75, 2.25]
    // examples: (1·[3, 0] + 3·[0, 3]) / 4 = [0.75, 2.25]
    const reports: [number[], LocalWork][] = [
      [[3, 0], { examples: 1, steps: 3 }],
      [[0, 3], { examples: 3, steps: 3 }],
    ]
    expect(aggregate('normalized', reports)).toEqual([0.75, 2.25])
    expect(aggregate('examples', reports)).toEqual([0.75, 2.25])
  })

  it('streams, and says the steps the aggregate counts as', () => {
    const mean = createNormalizedMean(spec)
    expect(mean.mean()).toBeNull()
    expect(mean.effectiveSteps).toBe(0)
    mean.add([tensor('w', [2, 0])], 30, 2)
    mean.add([tensor('w', [0, 5])], 10, 5)
    expect(mean.count).toBe(2)
    expect(mean.examples).toBe(40)
    expect(mean.effectiveSteps).toBe(2.75)
  })

  it('refuses a report with no steps, and a bad one, leaving the mean as it was', () => {
    const mean = createDeltaMean('normalized', spec)
    mean.add([tensor('w', [2, 0])], { examples: 30, steps: 2 })
    const bad = (delta: number[], work: LocalWork) => () => mean.add([tensor('w', delta)], work)
    expect(bad([0, 0], { examples: 10, steps: 0 })).toThrow(RangeError)
    expect(bad([0, 0], { examples: 10, steps: 0 })).toThrow(/steps 0 is not positive/)
    expect(bad([1, 1], { examples: 10, steps: NaN })).toThrow(/steps NaN is not positive/)
    expect(bad([1, 1], { examples: 0, steps: 1 })).toThrow(/examples 0 is not positive/)
    expect(bad([1, NaN], { examples: 10, steps: 1 })).toThrow(/NaN or Infinity/)
    expect(bad([1, 1, 1], { examples: 10, steps: 1 })).toThrow(/does not match/)
    expect(mean.count).toBe(1)
    // Still A alone: Σpτ = 2, Σp·Δ/τ = [1, 0], Δ = [2, 0].
    expect(values(mean.mean()?.[0])).toEqual([2, 0])
  })

  it('takes reports with no steps under the other weightings', () => {
    for (const weighting of WEIGHTINGS.filter((w) => w !== 'normalized'))
      expect(aggregate(weighting, [[[1, 1], { examples: 1, steps: 0 }]])).toEqual([1, 1])
  })
})
