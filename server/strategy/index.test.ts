import { describe, expect, it } from 'vitest'
import { fedAvg } from './index.ts'

const t = (values: number[]) => ({
  name: 'w',
  shape: [values.length],
  dtype: 'float32' as const,
  data: new Float32Array(values),
})

describe('fedAvg strategy', () => {
  const spec = [{ name: 'w', shape: [2] }]

  it('moves the global model by the example-weighted mean delta', () => {
    // global [1, 1]; deltas [2, 0] (n=1) and [-1, 3] (n=3): mean = [(2-3)/4, 9/4] = [-0.25, 2.25]
    const strategy = fedAvg()
    const aggregation = strategy.beginRound({ round: 1, spec })
    aggregation.accept({ deviceId: 'a', delta: [t([2, 0])], examples: 1, steps: 1 })
    aggregation.accept({ deviceId: 'b', delta: [t([-1, 3])], examples: 3, steps: 1 })
    expect(aggregation.reports).toBe(2)
    expect(aggregation.examples).toBe(4)
    const next = strategy.aggregateTrain({
      round: 1,
      global: [t([1, 1])],
      aggregation,
      failures: [],
    })
    expect(Array.from(next![0]!.data)).toEqual([0.75, 3.25])
  })

  it('weights uniformly when asked', () => {
    const strategy = fedAvg({ weighting: 'uniform' })
    const aggregation = strategy.beginRound({ round: 1, spec })
    aggregation.accept({ deviceId: 'a', delta: [t([2, 0])], examples: 1, steps: 1 })
    aggregation.accept({ deviceId: 'b', delta: [t([-1, 3])], examples: 3, steps: 1 })
    const next = strategy.aggregateTrain({
      round: 1,
      global: [t([0, 0])],
      aggregation,
      failures: [],
    })
    expect(Array.from(next![0]!.data)).toEqual([0.5, 1.5])
  })

  it('keeps the previous model when nothing arrived', () => {
    const strategy = fedAvg()
    const aggregation = strategy.beginRound({ round: 1, spec })
    expect(
      strategy.aggregateTrain({
        round: 1,
        global: [t([1, 1])],
        aggregation,
        failures: [{ deviceId: 'a', reason: 'dropped' }],
      }),
    ).toBeNull()
  })
})
