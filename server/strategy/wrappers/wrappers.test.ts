import { describe, expect, it, vi } from 'vitest'
import { tensor, values } from '../../../shared/aggregation/fixtures.ts'
import { materialize } from '../../../shared/tensors/index.ts'
import { strategyFor } from '../aggregation-strategy.ts'
import type { Strategy, TrainReport } from '../types.ts'
import { withPrivateMean, withStaleness, withUpdateBounds, type ReportBounds } from './index.ts'

const spec = [{ name: 'w', shape: [2] }]
const report = (deviceId: string, delta: number[], more: Partial<TrainReport> = {}) => ({
  examples: 1,
  steps: 1,
  ...more,
  deviceId,
  delta: [tensor('w', delta)],
})

/** One round from global [0, 0]: the reports go in, the next weights come out. */
async function round(strategy: Strategy, reports: TrainReport[], sum?: [number[], number]) {
  const aggregation = strategy.beginRound({ round: 1, spec })
  for (const r of reports) aggregation.accept(r)
  if (sum) aggregation.acceptSum!(Float64Array.from(sum[0]), sum[1])
  const next = await strategy.aggregateTrain({
    round: 1,
    global: [tensor('w', [0, 0])],
    aggregation,
    failures: [],
  })
  return { next: next && values(next[0]), aggregation }
}

const uniform = () => strategyFor({ weighting: 'uniform' })

describe('withStaleness', () => {
  it('weighs a stale report down by 1/(1 + staleness)^a before the inner strategy averages', async () => {
    const strategy = withStaleness(uniform(), () => 0.5)
    // [4, 4] three rounds stale weighs 1/√4 = 0.5: mean of [2, 2] and [0, 0].
    const { next } = await round(strategy, [
      report('a', [4, 4], { staleness: 3 }),
      report('b', [0, 0], { staleness: 0 }),
    ])
    expect(next).toEqual([1, 1])
  })

  it('leaves a fresh report, and the caller’s tensors, as they were', async () => {
    const fresh = report('a', [4, 4])
    const stale = report('b', [4, 4], { staleness: 1 })
    const { next } = await round(
      withStaleness(uniform(), () => 1),
      [fresh, stale],
    )
    expect(next).toEqual([3, 3])
    expect(values(stale.delta[0])).toEqual([4, 4])
  })

  it('weighs an owned delta down in place, with the same result as a copy', async () => {
    const owned = report('b', [4, 4], { staleness: 1, owned: true })
    const data = owned.delta[0]!.data
    const { next } = await round(
      withStaleness(uniform(), () => 1),
      [report('a', [4, 4]), owned],
    )
    expect(next).toEqual([3, 3])
    // The report's own arrays now hold the weighed delta: no copy was made.
    expect(Array.from(data)).toEqual([2, 2])
  })
})

describe('withPrivateMean', () => {
  it('clips each update, counts it once, and hands the inner strategy the mean', async () => {
    const onRelease = vi.fn()
    // Examples would weigh b nine times a under FedAvg: here each counts once.
    const strategy = withPrivateMean(strategyFor(), { clipNorm: 1, noiseStd: 0, onRelease })
    const { next, aggregation } = await round(strategy, [
      report('a', [3, 4], { examples: 1 }), // norm 5: clipped to [0.6, 0.8]
      report('b', [0, 0.5], { examples: 9 }),
    ])
    expect(aggregation.reports).toBe(2)
    expect(next![0]).toBeCloseTo(0.3, 6)
    expect(next![1]).toBeCloseTo(0.65, 6)
    expect(onRelease).toHaveBeenCalledWith(1)
  })

  it('takes a secure round’s sum whole, already clipped by the devices', async () => {
    const strategy = withPrivateMean(uniform(), { clipNorm: Infinity, noiseStd: 0 })
    const { next } = await round(strategy, [], [[6, 3], 3])
    expect(next).toEqual([2, 1])
  })

  it('adds noise of std noiseStd to the sum before dividing', async () => {
    const strategy = withPrivateMean(uniform(), { clipNorm: 1, noiseStd: 10 })
    const { next } = await round(strategy, [report('a', [0, 0])])
    expect(next).not.toEqual([0, 0])
  })
})

describe('withUpdateBounds', () => {
  /** Bounds that clip every report to norm 1 at once, holding `hold` reports first. */
  function clipToOne(hold = 0): ReportBounds & { clipped: number } {
    const held: TrainReport[] = []
    let calibrating = hold > 0
    const state = { clipped: 0 }
    const clip = (r: TrainReport): TrainReport => {
      const [x, y] = values(materialize(r.delta)[0])
      const norm = Math.hypot(x!, y!)
      if (norm <= 1) return r
      state.clipped++
      return { ...r, delta: [tensor('w', [x! / norm, y! / norm])] }
    }
    return Object.assign(state, {
      admit(r: TrainReport) {
        if (!calibrating) return [clip(r)]
        held.push(r)
        if (held.length <= hold) return []
        calibrating = false
        return held.splice(0).map(clip)
      },
      flush: () => held.splice(0).map(clip),
      view: () => ({ norm: 1, weight: null, clipped: state.clipped, capped: 0 }),
    })
  }

  it('passes each report through the round’s bounds, and shows them', async () => {
    const strategy = withUpdateBounds(uniform(), () => clipToOne())
    const { next, aggregation } = await round(strategy, [report('a', [3, 4])])
    expect(next![0]).toBeCloseTo(0.6, 6)
    expect(next![1]).toBeCloseTo(0.8, 6)
    expect(aggregation.bounds!()).toMatchObject({ norm: 1, clipped: 1 })
  })

  it('aggregates at the close what the bounds still held', async () => {
    const strategy = withUpdateBounds(uniform(), () => clipToOne(5))
    const { next, aggregation } = await round(strategy, [report('a', [0, 0.5])])
    expect(aggregation.reports).toBe(1)
    expect(next).toEqual([0, 0.5])
  })

  it('refuses the report being accepted, but only logs a held one the inner refuses', () => {
    const log = vi.fn()
    const inner = strategyFor({ weighting: 'normalized' })
    const strategy = withUpdateBounds(inner, () => clipToOne(1), { log })
    const aggregation = strategy.beginRound({ round: 4, spec })
    // Held while calibrating: answered accepted, refused by the inner when the bounds release it.
    aggregation.accept(report('a', [0, 0], { steps: 0 }))
    aggregation.accept(report('b', [0, 0]))
    expect(log).toHaveBeenCalledWith(
      expect.stringMatching(/^round 4: the report of a was left out/),
    )
    expect(() => aggregation.accept(report('c', [0, 0], { steps: 0 }))).toThrow(RangeError)
  })

  it('keeps the inner strategy’s state and restore', () => {
    const inner = strategyFor({ optimizer: 'fedavgm' })
    const strategy = withUpdateBounds(inner, () => clipToOne())
    expect(strategy.state?.()).toEqual([])
    expect(() => strategy.restore!([], spec)).not.toThrow()
  })
})
