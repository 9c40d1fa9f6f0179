import { describe, expect, it, vi } from 'vitest'
import { near, tensor, values } from '../../shared/aggregation/fixtures.ts'
import { SERVER_OPTIMIZERS, TaskSpecSchema, WEIGHTINGS } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import {
  fedAvg,
  ROBUST_ROUND_BYTES,
  robustMemoryRefusal,
  strategyFor,
  type RoundAggregation,
  type Strategy,
  type TrainReport,
} from './index.ts'

const t = (values: number[]) => tensor('w', values)
const spec = [{ name: 'w', shape: [2] }]

type Report = Omit<TrainReport, 'delta'> & { delta: number[] }

/** One round: the reports go in one at a time, the next global weights come out. */
async function round(strategy: Strategy, n: number, global: number[], reports: Report[]) {
  const aggregation = strategy.beginRound({ round: n, spec })
  for (const r of reports) aggregation.accept({ ...r, delta: [t(r.delta)] })
  const next = await strategy.aggregateTrain({
    round: n,
    global: [t(global)],
    aggregation,
    failures: [],
  })
  return next && values(next[0])
}

/** Round 1's next weights from zeros, with what `aggregation` took. */
const overZeros = (strategy: Strategy, aggregation: RoundAggregation) =>
  strategy.aggregateTrain({ round: 1, global: [t([0, 0])], aggregation, failures: [] })

const report = (deviceId: string, delta: number[], examples = 1, steps = 1): Report => ({
  deviceId,
  delta,
  examples,
  steps,
})

describe('fedAvg strategy', () => {
  it('moves the global model by the example-weighted mean delta', async () => {
    // global [1, 1]; deltas [2, 0] (n=1) and [-1, 3] (n=3): mean = [(2-3)/4, 9/4] = [-0.25, 2.25]
    const strategy = fedAvg()
    const aggregation = strategy.beginRound({ round: 1, spec })
    aggregation.accept({ deviceId: 'a', delta: [t([2, 0])], examples: 1, steps: 1 })
    aggregation.accept({ deviceId: 'b', delta: [t([-1, 3])], examples: 3, steps: 1 })
    expect(aggregation.reports).toBe(2)
    expect(aggregation.examples).toBe(4)
    const next = await strategy.aggregateTrain({
      round: 1,
      global: [t([1, 1])],
      aggregation,
      failures: [],
    })
    expect(Array.from(next![0]!.data)).toEqual([0.75, 3.25])
  })

  it('weights uniformly when asked', async () => {
    const strategy = fedAvg({ weighting: 'uniform' })
    expect(
      await round(strategy, 1, [0, 0], [report('a', [2, 0], 1), report('b', [-1, 3], 3)]),
    ).toEqual([0.5, 1.5])
  })

  it('keeps the previous model when nothing arrived', async () => {
    const strategy = fedAvg()
    const aggregation = strategy.beginRound({ round: 1, spec })
    expect(
      await strategy.aggregateTrain({
        round: 1,
        global: [t([1, 1])],
        aggregation,
        failures: [{ deviceId: 'a', reason: 'dropped' }],
      }),
    ).toBeNull()
  })

  it('is strategyFor with the FedAvg optimizer', () => {
    expect(fedAvg().name).toBe('fedavg-examples')
    expect(fedAvg({ serverLearningRate: 0.5 }).settings).toMatchObject({
      optimizer: 'fedavg',
      weighting: 'examples',
      serverLearningRate: 0.5,
    })
  })
})

describe.each(SERVER_OPTIMIZERS.flatMap((o) => WEIGHTINGS.map((w) => [o, w] as const)))(
  'strategyFor %s with %s weighting',
  (optimizer, weighting) => {
    it('is named after both', () => {
      expect(strategyFor({ optimizer, weighting }).name).toBe(`${optimizer}-${weighting}`)
    })

    it('keeps the previous model, and its state, when nothing arrived', async () => {
      const strategy = strategyFor({ optimizer, weighting })
      expect(await round(strategy, 1, [1, 1], [])).toBeNull()
      expect(strategy.state()).toEqual([])
    })

    it('moves along the mean delta and keeps the moments its optimizer needs', async () => {
      // Every server optimizer's first step from m₀ = 0 has the sign of Δ, coordinate by coordinate.
      const strategy = strategyFor({ optimizer, weighting })
      const next = await round(
        strategy,
        1,
        [0, 0],
        [report('a', [1, -2], 3, 2), report('b', [3, -1])],
      )
      expect(next!.map(Math.sign)).toEqual([1, -1])
      const slots = {
        fedavg: [],
        fedavgm: ['m:w'],
        fedadam: ['m:w', 'v:w'],
        fedyogi: ['m:w', 'v:w'],
      }
      expect(strategy.state().map((s) => s.name)).toEqual(slots[optimizer])
    })
  },
)

describe('strategyFor', () => {
  it('carries FedAvgM momentum across rounds', async () => {
    // η = 1, β = 0.5, m₀ = 0.
    // Round 1: a [2, 0], b [0, 2], one example each: Δ = [1, 1]; m = [1, 1]; w = [0, 0] + m = [1, 1]
    // Round 2: a [1, -1] (n=3), b [-3, 3] (n=1): Δ = [0, 0]; m = [0.5, 0.5]; w = [1.5, 1.5]
    // Round 3: a [-1, 0.5]: m = [0.25 - 1, 0.25 + 0.5] = [-0.75, 0.75]; w = [0.75, 2.25]
    const strategy = strategyFor({ optimizer: 'fedavgm', momentum: 0.5 })
    expect(strategy.name).toBe('fedavgm-examples')
    expect(await round(strategy, 1, [0, 0], [report('a', [2, 0]), report('b', [0, 2])])).toEqual([
      1, 1,
    ])
    expect(values(strategy.state()[0])).toEqual([1, 1])
    expect(
      await round(strategy, 2, [1, 1], [report('a', [1, -1], 3), report('b', [-3, 3])]),
    ).toEqual([1.5, 1.5])
    expect(values(strategy.state()[0])).toEqual([0.5, 0.5])
    expect(await round(strategy, 3, [1.5, 1.5], [report('a', [-1, 0.5])])).toEqual([0.75, 2.25])
    expect(values(strategy.state()[0])).toEqual([-0.75, 0.75])
  })

  it('applies FedNova weighting before the server optimizer', async () => {
    // A: 30 examples, 2 steps, [2, 0]; B: 10 examples, 5 steps, [0, 5].
    // normalized Δ = 2.75·[0.75, 0.25] = [2.0625, 0.6875] (see shared/aggregation); η = 2:
    // w = [0, 0] + 2Δ = [4.125, 1.375]; by examples Δ = [1.5, 1.25], w = [3, 2.5]
    const reports = [report('a', [2, 0], 30, 2), report('b', [0, 5], 10, 5)]
    const normalized = strategyFor({ weighting: 'normalized', serverLearningRate: 2 })
    expect(await round(normalized, 1, [0, 0], reports)).toEqual([4.125, 1.375])
    expect(await round(strategyFor({ serverLearningRate: 2 }), 1, [0, 0], reports)).toEqual([
      3, 2.5,
    ])
  })

  it('refuses a report with no steps under normalized weighting, naming the device', () => {
    const strategy = strategyFor({ weighting: 'normalized' })
    const aggregation = strategy.beginRound({ round: 1, spec })
    aggregation.accept({ deviceId: 'a', delta: [t([2, 0])], examples: 30, steps: 2 })
    expect(() =>
      aggregation.accept({ deviceId: 'b', delta: [t([0, 0])], examples: 10, steps: 0 }),
    ).toThrow(/the report from b is refused: steps 0 is not positive/)
    expect(() =>
      aggregation.accept({ deviceId: 'c', delta: [t([1, NaN])], examples: 10, steps: 1 }),
    ).toThrow(/the report from c is refused: .*NaN/)
    expect(() =>
      aggregation.accept({ deviceId: 'd', delta: [tensor('w', [1])], examples: 1, steps: 1 }),
    ).toThrow(/the report from d is refused: tensor w does not match the model/)
    expect(aggregation.reports).toBe(1)
    expect(aggregation.examples).toBe(30)
  })

  it('releases a report once its delta is in the round (summed, or copied by a robust rule), not one it refused', async () => {
    for (const rule of ['mean', 'median'] as const) {
      const strategy = strategyFor({ rule })
      const aggregation = strategy.beginRound({ round: 1, spec })
      const refused = vi.fn()
      const bad = { deviceId: 'x', delta: [t([1, NaN])], examples: 1, steps: 1, release: refused }
      expect(() => aggregation.accept(bad)).toThrow(RangeError)
      expect(refused).not.toHaveBeenCalled()
      const deltas = ['a', 'b', 'c'].map((deviceId) => {
        const delta = [t([2, 4])]
        const release = vi.fn()
        aggregation.accept({ deviceId, delta, examples: 1, steps: 1, release })
        expect(release).toHaveBeenCalledOnce()
        return delta
      })
      // What the round holds is its own: the released bodies' bytes may now be overwritten.
      for (const [w] of deltas) w!.data.fill(99)
      const next = await overZeros(strategy, aggregation)
      expect(values(next![0])).toEqual([2, 4])
    }
  })

  it('keeps its state when a step fails, and goes on from it', async () => {
    // FedAdam, η = 1, β₁ = 0.5, β₂ = 0.5, τ = 0.5: v₀ = [0.25, 0.25].
    // Round 1, Δ = [0.5, 3.5]: m = [0.25, 1.75], v = [0.25, 6.25], w = [0.25/1, 1.75/3]
    const strategy = strategyFor({ optimizer: 'fedadam', beta1: 0.5, beta2: 0.5, tau: 0.5 })
    expect(await round(strategy, 1, [0, 0], [report('a', [0.5, 3.5])])).toEqual(
      near([0.25, 1.75 / 3]),
    )
    const after1 = strategy.state()
    // Round 2: the coordinator hands a global that is not this model's.
    const aggregation = strategy.beginRound({ round: 2, spec })
    aggregation.accept({ deviceId: 'a', delta: [t([1, 1])], examples: 1, steps: 1 })
    await expect(
      strategy.aggregateTrain({
        round: 2,
        global: [tensor('other', [0, 0])],
        aggregation,
        failures: [],
      }),
    ).rejects.toThrow(/the delta does not match weight other/)
    expect(strategy.state()).toEqual(after1)
    // Round 3 from round 1's state, Δ = [-3.5, 2.5]: m = [-1.625, 2.125], v = [6.25, 6.25],
    // w = [0.25 - 1.625/3, 1.75/3 + 2.125/3] = [-0.2916667, 1.2916667]
    expect(await round(strategy, 3, [0.25, 1.75 / 3], [report('a', [-3.5, 2.5])])).toEqual(
      near([0.25 - 1.625 / 3, 3.875 / 3]),
    )
    expect(strategy.state().map(values)).toEqual([
      [-1.625, 2.125],
      [6.25, 6.25],
    ])
  })

  it('restores a state so a new instance steps as the old one would have', async () => {
    const settings = { optimizer: 'fedyogi', beta1: 0.5, beta2: 0.5, tau: 0.25 } as const
    const reports = [[report('a', [-1, 1])], [report('a', [-3, 0.75])], [report('a', [-2, 0])]]
    const first = strategyFor(settings)
    let global = [1, 2]
    for (const [i, r] of reports.slice(0, 2).entries())
      global = (await round(first, i + 1, global, r))!
    const saved: NamedTensor[] = first.state()
    const second = strategyFor(settings)
    second.restore(saved, spec)
    saved[0]!.data[0] = 99 // restore took a copy
    const restored = await round(second, 3, global, reports[2]!)
    expect(restored).toEqual(await round(first, 3, global, reports[2]!))
    expect(second.state()).toEqual(first.state())
    // As shared/aggregation's FedYogi example: w₃ = [-1.1375, 3.4375].
    expect(restored).toEqual(near([-1.1375, 3.4375]))
  })

  it('refuses a state that does not fit, and keeps its own', async () => {
    const strategy = strategyFor({ optimizer: 'fedadam' })
    await round(strategy, 1, [0, 0], [report('a', [1, 1])])
    const own = strategy.state()
    expect(() => strategy.restore([tensor('m:w', [0, 0])], spec)).toThrow(
      /fedadam keeps 2 state tensors, got 1/,
    )
    expect(() => strategy.restore([tensor('m:w', [0, 0]), tensor('v:w', [0, 0, 0])], spec)).toThrow(
      /state v:w has 3 values, the weight 2/,
    )
    expect(strategy.state()).toEqual(own)
    strategy.restore([], spec)
    expect(strategy.state()).toEqual([])
  })

  it('refuses settings out of range, naming the field', () => {
    expect(() => strategyFor({ momentum: 2 })).toThrow(/aggregation\.momentum/)
    expect(() => strategyFor({ tau: 0 })).toThrow(RangeError)
  })

  it('turns the held-out evaluation into the round metrics, per label included', () => {
    const strategy = strategyFor()
    expect(strategy.configureEvaluate({ round: 1 })).toEqual({ heldOut: true })
    const heldOut = {
      accuracy: 0.75,
      loss: 0.5,
      examples: 4,
      perLabelAccuracy: [1, null, 0.5],
      confusion: [
        [1, 0, 0],
        [0, 0, 0],
        [0, 1, 1],
      ],
    }
    const metrics = strategy.aggregateEvaluate({ round: 1, heldOut })
    expect(metrics).toEqual({
      accuracy: 0.75,
      loss: 0.5,
      accuracyByLabel: [1, null, 0.5],
      confusion: heldOut.confusion,
    })
    // Copies: the evaluator's arrays may be reused.
    heldOut.perLabelAccuracy[0] = 0
    heldOut.confusion[0]![0] = 9
    expect(metrics.accuracyByLabel).toEqual([1, null, 0.5])
    expect(metrics.confusion?.[0]).toEqual([1, 0, 0])
    expect(strategy.aggregateEvaluate({ round: 2, heldOut: null })).toEqual({
      accuracy: null,
      loss: null,
      accuracyByLabel: null,
      confusion: null,
    })
  })
})

describe('strategyFor with a robust rule', () => {
  // Five reports, f = 1; Multi-Krum scores (see shared/aggregation/multi-krum.test.ts):
  // a 2, b 3, c 3, d 10, e 309.
  const five = [
    report('a', [0, 0], 1),
    report('b', [1, 0], 3),
    report('c', [0, 1], 1),
    report('d', [2, 2], 5),
    report('e', [10, 10], 100),
  ]

  it('median: the coordinate-wise median delta, whatever the examples, then the server step', async () => {
    // Δ = median([0,1,0,2,10], [0,0,1,2,10]) = [1, 1]; η = 2: w = [1, 1] + 2Δ = [3, 3]
    const strategy = strategyFor({ rule: 'median', serverLearningRate: 2 })
    expect(strategy.name).toBe('median-fedavg')
    expect(await round(strategy, 1, [1, 1], five)).toEqual([3, 3])
    const same = five.map((r) => ({ ...r, examples: 7 }))
    expect(
      await round(strategyFor({ rule: 'median', serverLearningRate: 2 }), 1, [1, 1], same),
    ).toEqual([3, 3])
  })

  it('trimmed-mean: cuts ⌊trim × n⌋ from each end per coordinate', async () => {
    // trim 0.2, n = 5: one cut each end. [0,0,1,2,10] → 1; [0,0,1,2,10] → 1
    expect(await round(strategyFor({ rule: 'trimmed-mean', trim: 0.2 }), 1, [0, 0], five)).toEqual([
      1, 1,
    ])
    // trim 0.1 cuts nothing from 5: too few for the rule, so the model stays.
    const logged: string[] = []
    const strategy = strategyFor(
      { rule: 'trimmed-mean', trim: 0.1 },
      { log: (m) => logged.push(m) },
    )
    expect(await round(strategy, 4, [0, 0], five)).toBeNull()
    expect(logged).toEqual([
      'round 4: "trimmed-mean" needs at least 10 reports, got 5: the model stays as it was',
    ])
  })

  it('multi-krum: keeps the n − f best-scored and averages them by examples', async () => {
    // Kept a, b, c, d: (1·[0,0] + 3·[1,0] + 1·[0,1] + 5·[2,2]) / 10 = [1.3, 1.1]
    const logged: string[] = []
    const strategy = strategyFor({ rule: 'multi-krum' }, { log: (m) => logged.push(m) })
    expect(strategy.name).toBe('multi-krum-fedavg-examples')
    expect(await round(strategy, 2, [0, 0], five)).toEqual(near([1.3, 1.1]))
    expect(logged).toEqual(['round 2: multi-krum kept 4 of 5 reports, left out e'])
    // Uniformly: ([0,0] + [1,0] + [0,1] + [2,2]) / 4; m = 2 keeps a and b: [0.5, 0]
    const uniform = strategyFor({ rule: 'multi-krum', weighting: 'uniform' })
    expect(await round(uniform, 1, [0, 0], five)).toEqual([0.75, 0.75])
    const two = strategyFor({ rule: 'multi-krum', weighting: 'uniform', krumSelect: 2 })
    expect(await round(two, 1, [0, 0], five)).toEqual([0.5, 0])
  })

  it('keeps the previous model, saying why, with fewer reports than the rule needs', async () => {
    const logged: string[] = []
    const log = (m: string) => logged.push(m)
    expect(
      await round(strategyFor({ rule: 'median' }, { log }), 3, [0, 0], five.slice(0, 2)),
    ).toBeNull()
    const krum = strategyFor({ rule: 'multi-krum', byzantine: 1 }, { log })
    expect(await round(krum, 5, [0, 0], five.slice(0, 4))).toBeNull()
    expect(await round(krum, 6, [0, 0], [])).toBeNull()
    expect(logged).toEqual([
      'round 3: "median" needs at least 3 reports, got 2: the model stays as it was',
      'round 5: "multi-krum" needs at least 5 reports, got 4: the model stays as it was',
    ])
  })

  it("feeds the server optimizer's moments as the mean does", async () => {
    // FedAvgM β = 0.5. Round 1: Δ = [1, 1], m = [1, 1], w = [1, 1].
    // Round 2: median([1,-1], [3,3], [-3,3]) = [1, 3]; m = [1.5, 3.5]; w = [2.5, 4.5]
    const strategy = strategyFor({ rule: 'median', optimizer: 'fedavgm', momentum: 0.5 })
    expect(await round(strategy, 1, [0, 0], five)).toEqual([1, 1])
    const second = [report('a', [1, -1]), report('b', [3, 3]), report('c', [-3, 3])]
    expect(await round(strategy, 2, [1, 1], second)).toEqual([2.5, 4.5])
    expect(values(strategy.state()[0])).toEqual([1.5, 3.5])
  })

  it('refuses at once, naming the device, what it could not aggregate at the close', () => {
    const strategy = strategyFor({ rule: 'multi-krum', weighting: 'normalized' })
    const aggregation = strategy.beginRound({ round: 1, spec })
    aggregation.accept({ deviceId: 'a', delta: [t([2, 0])], examples: 3, steps: 2 })
    expect(() =>
      aggregation.accept({ deviceId: 'b', delta: [t([0, 0])], examples: 1, steps: 0 }),
    ).toThrow(/the report from b is refused: steps 0 is not positive/)
    expect(() =>
      aggregation.accept({ deviceId: 'c', delta: [t([1, Infinity])], examples: 1, steps: 1 }),
    ).toThrow(/the report from c is refused: .*NaN or Infinity/)
    expect(() =>
      aggregation.accept({ deviceId: 'd', delta: [tensor('w', [1])], examples: 1, steps: 1 }),
    ).toThrow(/the report from d is refused: tensor w does not match the model/)
    expect(aggregation.reports).toBe(1)
    expect(aggregation.examples).toBe(3)
  })

  it('keeps a copy of each report, so a reused upload buffer changes nothing', async () => {
    const strategy = strategyFor({ rule: 'median' })
    const aggregation = strategy.beginRound({ round: 1, spec })
    const deltas = [t([1, 1]), t([2, 2]), t([3, 3])]
    deltas.forEach((delta, i) =>
      aggregation.accept({ deviceId: `${i}`, delta: [delta], examples: 1, steps: 1 }),
    )
    for (const d of deltas) d.data.fill(100)
    const next = await overZeros(strategy, aggregation)
    expect(values(next![0])).toEqual([2, 2])
  })

  /** n deltas of `size` values in [−0.5, 0.5), from an inline LCG: 30 M values in a blink. */
  const manyDeltas = (n: number, size: number) => {
    let x = 30
    return Array.from({ length: n }, () => {
      const data = new Float32Array(size)
      for (let k = 0; k < size; k++) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0
        data[k] = x / 2 ** 32 - 0.5
      }
      return data
    })
  }

  it.each(['median', 'trimmed-mean'] as const)(
    '%s of 30 reports of 1 M weights lets a timer set before the close fire before it ends',
    async (rule) => {
      const size = 2 ** 20
      const w = (data: Float32Array): NamedTensor => ({
        name: 'w',
        shape: [size],
        dtype: 'float32',
        data,
      })
      const strategy = strategyFor({ rule, trim: 0.2 })
      const aggregation = strategy.beginRound({ round: 1, spec: [{ name: 'w', shape: [size] }] })
      const deltas = manyDeltas(30, size)
      deltas.forEach((data, i) =>
        aggregation.accept({ deviceId: `${i}`, delta: [w(data)], examples: 1, steps: 1 }),
      )
      // What the coordinator's other requests stand for: due at once, and waiting for a turn.
      const order: string[] = []
      const timer = setTimeout(() => order.push('timer'), 0)
      const next = await strategy.aggregateTrain({
        round: 1,
        global: [w(new Float32Array(size))],
        aggregation,
        failures: [],
      })
      order.push('aggregated')
      clearTimeout(timer)
      expect(order).toEqual(['timer', 'aggregated'])
      // A few coordinates, against a full sort of their 30 values: 14 and 15 are the middle
      // ones; the trimmed mean at 0.2 cuts 6 from each end.
      for (const k of [0, 12_345, size - 1]) {
        const s = deltas.map((d) => d[k]!).sort((a, b) => a - b)
        const kept = s.slice(6, 24).reduce((a, b) => a + b, 0) / 18
        expect(next![0]!.data[k]).toBe(
          Math.fround(rule === 'median' ? (s[14]! + s[15]!) / 2 : kept),
        )
      }
    },
  )
})

describe('robustMemoryRefusal', () => {
  const task = (more: object) =>
    TaskSpecSchema.parse({ name: 't', purpose: 'p', model: { preset: 'mnist-2nn' }, ...more })

  it('refuses a rule whose round would hold more than the budget of reports', () => {
    // 1,000 reports of 268,436 weights: 1,073,744,000 bytes, just over 1 GiB (1,073,741,824).
    const median = task({
      aggregation: { rule: 'median' },
      rounds: { clientsPerRound: 1000, minReports: 3 },
    })
    expect(robustMemoryRefusal(median, 268_435)).toBeNull()
    expect(robustMemoryRefusal(median, 268_436)).toEqual({
      field: 'rounds.clientsPerRound',
      message:
        '"median" keeps a round\'s reports until it closes: 1000 of 268436 weights are 1025 MiB, over the 1024 MiB a round may hold; take fewer reports a round',
    })
    expect(ROBUST_ROUND_BYTES).toBe(2 ** 30)
    // The mean streams: no bound.
    expect(robustMemoryRefusal(task({ rounds: { clientsPerRound: 1000 } }), 1e9)).toBeNull()
  })

  it("counts an async task's buffer, and Multi-Krum's distances", () => {
    const krum = task({
      mode: 'async',
      aggregation: { rule: 'multi-krum' },
      async: { bufferSize: 100 },
    })
    // 100 × 10 × 4 + 4 × 100² = 44,000 bytes
    expect(robustMemoryRefusal(krum, 10, 44_000)).toBeNull()
    expect(robustMemoryRefusal(krum, 10, 43_999)?.field).toBe('async.bufferSize')
  })
})
