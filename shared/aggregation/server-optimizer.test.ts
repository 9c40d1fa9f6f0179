import { describe, expect, it } from 'vitest'
import { AggregationSettingsSchema, type AggregationSettings } from '../protocol/index.ts'
import type { NamedTensor } from '../tensors/index.ts'
import { near, tensor, values } from './fixtures.ts'
import {
  fedAdamStep,
  fedAvgMStep,
  fedAvgStep,
  fedYogiStep,
  serverStep,
  type ServerStep,
} from './index.ts'

const settings = (input: Partial<AggregationSettings>) => AggregationSettingsSchema.parse(input)

/** Runs `step` over the rounds' deltas from w₀ = [1, 2], keeping the state between rounds. */
function rounds(step: ServerStep, hyper: AggregationSettings, deltas: number[][]) {
  let weights: NamedTensor[] = [tensor('w', [1, 2])]
  let state: NamedTensor[] = []
  return deltas.map((d) => {
    ;({ weights, state } = step({ weights, delta: [tensor('w', d)], state }, hyper))
    return {
      w: values(weights[0]),
      ...Object.fromEntries(state.map((s) => [s.name, values(s)])),
    }
  })
}

describe('server optimizers (Reddi et al. 2021, Algorithm 2)', () => {
  it('FedAvg moves by ηΔ and keeps no state', () => {
    // η = 0.5 from w = [1, 2]:
    // Δ₁ = [0.5, -1]: w = [1.25, 1.5]; Δ₂ = [0.5, 1]: w = [1.5, 2]; Δ₃ = [-1, 0]: w = [1, 2]
    expect(
      rounds(fedAvgStep, settings({ serverLearningRate: 0.5 }), [
        [0.5, -1],
        [0.5, 1],
        [-1, 0],
      ]),
    ).toEqual([{ w: [1.25, 1.5] }, { w: [1.5, 2] }, { w: [1, 2] }])
  })

  it('FedAvgM carries momentum from round to round', () => {
    // η = 2, β = 0.5, m₀ = 0, w = [1, 2]:
    // Δ₁ = [0.5, -1]: m = [0.5, -1];                          w = [1, 2] + 2·m = [2, 0]
    // Δ₂ = [0.5, 1]:  m = 0.5·[0.5, -1] + [0.5, 1] = [0.75, 0.5];     w = [3.5, 1]
    // Δ₃ = [-1, 0]:   m = 0.5·[0.75, 0.5] + [-1, 0] = [-0.625, 0.25]; w = [2.25, 1.5]
    expect(
      rounds(fedAvgMStep, settings({ serverLearningRate: 2, momentum: 0.5 }), [
        [0.5, -1],
        [0.5, 1],
        [-1, 0],
      ]),
    ).toEqual([
      { w: [2, 0], 'm:w': [0.5, -1] },
      { w: [3.5, 1], 'm:w': [0.75, 0.5] },
      { w: [2.25, 1.5], 'm:w': [-0.625, 0.25] },
    ])
  })

  it('FedAdam carries m and v, starting from m₀ = 0 and v₀ = τ²', () => {
    // η = 3, β₁ = 0.5, β₂ = 0.5, τ = 0.5: m₀ = [0, 0], v₀ = [0.25, 0.25], w = [1, 2].
    // m ← 0.5m + 0.5Δ, v ← 0.5v + 0.5Δ², w ← w + 3m/(√v + 0.5)
    // Δ₁ = [0.5, 3.5]:   m = [0.25, 1.75],      v = [0.125 + 0.125, 0.125 + 6.125] = [0.25, 6.25]
    //                    w = [1 + 3·0.25/(0.5 + 0.5), 2 + 3·1.75/(2.5 + 0.5)] = [1.75, 3.75]
    // Δ₂ = [-3.5, 2.5]:  m = [0.125 - 1.75, 0.875 + 1.25] = [-1.625, 2.125]
    //                    v = [0.125 + 6.125, 3.125 + 3.125] = [6.25, 6.25]
    //                    w = [1.75 + 3·(-1.625)/3, 3.75 + 3·2.125/3] = [0.125, 5.875]
    // Δ₃ = [-2.5, 2.5]:  m = [-0.8125 - 1.25, 1.0625 + 1.25] = [-2.0625, 2.3125], v = [6.25, 6.25]
    //                    w = [0.125 - 2.0625, 5.875 + 2.3125] = [-1.9375, 8.1875]
    const hyper = settings({ serverLearningRate: 3, beta1: 0.5, beta2: 0.5, tau: 0.5 })
    expect(
      rounds(fedAdamStep, hyper, [
        [0.5, 3.5],
        [-3.5, 2.5],
        [-2.5, 2.5],
      ]),
    ).toEqual([
      { w: near([1.75, 3.75]), 'm:w': [0.25, 1.75], 'v:w': [0.25, 6.25] },
      { w: near([0.125, 5.875]), 'm:w': [-1.625, 2.125], 'v:w': [6.25, 6.25] },
      { w: near([-1.9375, 8.1875]), 'm:w': [-2.0625, 2.3125], 'v:w': [6.25, 6.25] },
    ])
  })

  it('FedYogi moves v towards Δ² by at most (1 − β₂)Δ², and not at all when they are equal', () => {
    // η = 1, β₁ = 0.5, β₂ = 0.5, τ = 0.25: m₀ = [0, 0], v₀ = [1/16, 1/16], w = [1, 2].
    // m ← 0.5m + 0.5Δ, v ← v − 0.5Δ²·sign(v − Δ²), w ← w + m/(√v + 0.25)
    // Δ₁ = [-1, 1]:     m = [-0.5, 0.5]; v = 1/16 + 0.5·1 = [9/16, 9/16] (v < Δ²: grows)
    //                   w = [1 - 0.5/(0.75 + 0.25), 2 + 0.5/1] = [0.5, 2.5]
    // Δ₂ = [-3, 0.75]:  m = [-0.25 - 1.5, 0.25 + 0.375] = [-1.75, 0.625]
    //                   v = [9/16 + 0.5·9, 9/16 (v = Δ²: sign 0)] = [81/16, 9/16]
    //                   w = [0.5 - 1.75/(2.25 + 0.25), 2.5 + 0.625/1] = [-0.2, 3.125]
    // Δ₃ = [-2, 0]:     m = [-0.875 - 1, 0.3125] = [-1.875, 0.3125]
    //                   v = [81/16 - 0.5·4 (v > Δ²: shrinks), 9/16 - 0] = [49/16, 9/16]
    //                   w = [-0.2 - 1.875/(1.75 + 0.25), 3.125 + 0.3125/1] = [-1.1375, 3.4375]
    // (Adam would have halved the second v at Δ₃ = 0, to 9/32; Yogi keeps it.)
    const hyper = settings({ serverLearningRate: 1, beta1: 0.5, beta2: 0.5, tau: 0.25 })
    expect(
      rounds(fedYogiStep, hyper, [
        [-1, 1],
        [-3, 0.75],
        [-2, 0],
      ]),
    ).toEqual([
      { w: near([0.5, 2.5]), 'm:w': [-0.5, 0.5], 'v:w': [9 / 16, 9 / 16] },
      { w: near([-0.2, 3.125]), 'm:w': [-1.75, 0.625], 'v:w': [81 / 16, 9 / 16] },
      { w: near([-1.1375, 3.4375]), 'm:w': [-1.875, 0.3125], 'v:w': [49 / 16, 9 / 16] },
    ])
  })

  it('serverStep runs the optimizer the settings name', () => {
    // Default FedAdam (η = 1, β₁ = 0.9, β₂ = 0.99, τ = 1e-3), Δ = [1, 0] from w = [0, 0]:
    // m = [0.1, 0], v = [0.99e-6 + 0.01, 0.99e-6]
    // w = [0.1/(√0.01000099 + 0.001), 0] = [0.1/0.10100495, 0] = [0.9900505, 0]
    const next = serverStep(settings({ optimizer: 'fedadam' }), {
      weights: [tensor('w', [0, 0])],
      delta: [tensor('w', [1, 0])],
      state: [],
    })
    expect(values(next.weights[0])).toEqual(near([0.9900505, 0]))
    expect(next.state.map((s) => s.name)).toEqual(['m:w', 'v:w'])
  })

  it('changes neither its weights nor its state', () => {
    const weights = [tensor('a', [1, 2]), tensor('b', [3])]
    const state = [
      tensor('m:a', [1, 1]),
      tensor('m:b', [1]),
      tensor('v:a', [4, 4]),
      tensor('v:b', [4]),
    ]
    const delta = [tensor('b', [1]), tensor('a', [1, 1])]
    const next = fedAdamStep({ weights, delta, state }, settings({}))
    expect(next.weights.map((w) => w.name)).toEqual(['a', 'b'])
    expect(next.state.map((s) => s.name)).toEqual(['m:a', 'm:b', 'v:a', 'v:b'])
    expect(weights.map(values)).toEqual([[1, 2], [3]])
    expect(state.map(values)).toEqual([[1, 1], [1], [4, 4], [4]])
  })

  it('refuses a bad delta or a bad state with a clear error', () => {
    const hyper = settings({})
    const weights = [tensor('w', [1, 2])]
    const delta = [tensor('w', [1, 1])]
    const state = [tensor('m:w', [1, 1]), tensor('v:w', [1, 1])]
    const step = (input: Partial<Parameters<ServerStep>[0]>) => () =>
      fedYogiStep({ weights, delta, state, ...input }, hyper)
    expect(step({ delta: [tensor('w', [1, NaN])] })).toThrow(/delta holds NaN or Infinity/)
    expect(step({ delta: [tensor('w', [Infinity, 0])] })).toThrow(/delta holds NaN or Infinity/)
    expect(step({ delta: [tensor('w', [1, 2, 3])] })).toThrow(/delta does not match weight w/)
    expect(step({ delta: [tensor('z', [1, 2])] })).toThrow(/delta does not match weight w/)
    expect(step({ delta: [] })).toThrow(/expected a delta of 1 tensors, got 0/)
    expect(step({ state: [tensor('m:w', [1, 1])] })).toThrow(/fedyogi keeps 2 state tensors/)
    expect(step({ state: [tensor('m:w', [1, 1]), tensor('m:x', [1, 1])] })).toThrow(/lacks v:w/)
    expect(step({ state: [tensor('m:w', [1]), tensor('v:w', [1, 1])] })).toThrow(
      /state m:w has 1 values, the weight 2/,
    )
    expect(step({ state: [tensor('m:w', [1, 1]), tensor('v:w', [1, -1])] })).toThrow(
      /v:w is negative/,
    )
    expect(step({ state: [tensor('m:w', [NaN, 1]), tensor('v:w', [1, 1])] })).toThrow(
      /state holds NaN/,
    )
    expect(() => fedAvgStep({ weights, delta, state }, hyper)).toThrow(/fedavg keeps 0 state/)
    expect(state.map(values)).toEqual([
      [1, 1],
      [1, 1],
    ])
  })
})
