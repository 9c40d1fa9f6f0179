import { describe, expect, it } from 'vitest'
import { l2Norm } from '../../shared/privacy/index.ts'
import { materialize, type NamedTensor } from '../../shared/tensors/index.ts'
import type { TrainReport } from '../strategy/index.ts'
import {
  calibrationReports,
  lowerMedian,
  lowerQuantile,
  roundBounds,
  type BoundSettings,
} from './update-bounds.ts'

/** A report whose delta is [norm, 0] (L2 norm `norm`), from `examples`. */
const report = (
  deviceId: string,
  norm: number,
  examples = 100,
): TrainReport & { delta: NamedTensor[] } => ({
  deviceId,
  delta: [{ name: 'w', shape: [2], dtype: 'float32', data: Float32Array.from([norm, 0]) }],
  examples,
  steps: 4,
})
const adaptive: BoundSettings = {
  normBound: 'adaptive',
  weightBound: 'adaptive',
  weighting: 'examples',
}
const norms = (reports: TrainReport[]) => reports.map((r) => l2Norm(materialize(r.delta)))

describe('a round’s update bounds', () => {
  it('holds the first k reports, then clips every one to their lower quartile norm and caps weights at twice their lower median examples', () => {
    const bounds = roundBounds(adaptive, 5)
    expect(bounds.view()).toEqual({ norm: null, weight: null, clipped: 0, capped: 0 })
    expect(bounds.admit(report('a', 1, 100))).toEqual([])
    expect(bounds.admit(report('b', 1e6, 5000))).toEqual([])
    expect(bounds.admit(report('c', 2, 300))).toEqual([])
    expect(bounds.admit(report('d', 3, 200))).toEqual([])
    const released = bounds.admit(report('e', 4, 400))
    // Norms 1, 10⁶, 2, 3, 4: bound 2. Examples 100, 5000, 300, 200, 400: cap 2 × 300.
    expect(released.map((r) => r.deviceId)).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(norms(released)).toEqual([1, 2, 2, 2, 2])
    expect(released.map((r) => r.examples)).toEqual([100, 600, 300, 200, 400])
    expect(bounds.view()).toEqual({ norm: 2, weight: 600, clipped: 3, capped: 1 })
    // Streaming from here: each report goes through at once.
    const [later] = bounds.admit(report('f', 8, 700))
    expect([l2Norm(materialize(later!.delta)), later!.examples]).toEqual([2, 600])
    expect(bounds.view()).toMatchObject({ clipped: 4, capped: 2 })
    // A report within both bounds is passed on as it came, not copied.
    const within = report('g', 1.5, 50)
    expect(bounds.admit(within)[0]!.delta).toBe(within.delta)
  })

  it('clips an owned delta in place and a borrowed one into a copy, to the same values', () => {
    const bounds = roundBounds({ ...adaptive, normBound: 2 }, 1)
    const borrowed = report('a', 8)
    const owned = { ...report('b', 8), owned: true }
    const [fromBorrowed] = bounds.admit(borrowed)
    const [fromOwned] = bounds.admit(owned)
    expect(norms([fromBorrowed!, fromOwned!])).toEqual([2, 2])
    // The caller's arrays are left as they were, unless the report said they were its own.
    expect(Array.from(borrowed.delta[0]!.data)).toEqual([8, 0])
    expect(materialize(fromBorrowed!.delta)[0]!.data).not.toBe(borrowed.delta[0]!.data)
    expect(materialize(fromOwned!.delta)[0]!.data).toBe(owned.delta[0]!.data)
    expect(Array.from(owned.delta[0]!.data)).toEqual([2, 0])
    // What a wrapper passes on after a copy is owned: the next one need not copy again.
    expect([fromBorrowed!.owned, fromOwned!.owned]).toEqual([true, true])
  })

  it('rises at most twice over the last committed round’s bounds, and falls freely', () => {
    // Attackers hold four of the five calibration reports: alone, they would set the bounds.
    const taken = roundBounds(adaptive, 5, { norm: 1, weight: 200 })
    for (const id of ['a', 'b', 'c', 'd']) taken.admit(report(id, 1e6, 10_000_000))
    const released = taken.admit(report('e', 1, 100))
    expect(taken.view()).toMatchObject({ norm: 2, weight: 400 })
    expect(norms(released)).toEqual([2, 2, 2, 2, 1])
    expect(released.map((r) => r.examples)).toEqual([400, 400, 400, 400, 100])
    // Honest updates shrink as a model converges: the bounds follow them down at once.
    const shrinking = roundBounds(adaptive, 3, { norm: 8, weight: 2000 })
    for (const id of ['a', 'b', 'c']) shrinking.admit(report(id, 0.5, 100))
    expect(shrinking.view()).toMatchObject({ norm: 0.5, weight: 200 })
    // The first round has nothing to rise from.
    const first = roundBounds(adaptive, 1, null)
    first.admit(report('a', 30, 100))
    expect(first.view()).toMatchObject({ norm: 30, weight: 200 })
  })

  it('takes low quantiles: attackers need three quarters of the reports to set the norm bound, half to set the weight cap', () => {
    expect(lowerMedian([4, 1, 1e9, 2])).toBe(2)
    expect(lowerMedian([7])).toBe(7)
    // Of five, three attackers cannot set it; four can.
    expect(lowerQuantile([5, 1, 1e9, 1e9, 1e9], 0.25)).toBe(5)
    expect(lowerQuantile([1, 1e9, 1e9, 1e9, 1e9], 0.25)).toBe(1e9)
    expect(lowerQuantile([5, 1, 3, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9], 0.25)).toBe(5)
    expect(() => lowerMedian([])).toThrow(RangeError)
    // Three attackers of four: the norm bound is the honest one's.
    const bounds = roundBounds(adaptive, 4)
    for (const [id, n] of [
      ['a', 1e9],
      ['b', 1e9],
      ['c', 1e9],
    ] as const)
      bounds.admit(report(id, n))
    expect(norms(bounds.admit(report('d', 3)))).toEqual([3, 3, 3, 3])
  })

  it('applies the staleness weight after clipping: a stale update is clipped like a fresh one', () => {
    const bounds = roundBounds({ ...adaptive, normBound: 4 }, 1)
    const [fresh] = bounds.admit(report('a', 10), 1)
    const [stale] = bounds.admit(report('b', 10), 0.5)
    expect(norms([fresh!, stale!])).toEqual([4, 2])
  })

  it('clips by the norm the admission gave the report, and passes the clipped one on without it', () => {
    const bounds = roundBounds({ ...adaptive, normBound: 4 }, 1)
    // A carried norm of 20 for a delta of norm 10: the bound reads it rather than measuring again.
    const [clipped] = bounds.admit({ ...report('a', 10), norm: 20 })
    expect(norms([clipped!])).toEqual([2])
    expect(clipped).not.toHaveProperty('norm')
    const [kept] = bounds.admit({ ...report('b', 3), norm: 3 })
    expect(kept).toMatchObject({ norm: 3 })
  })

  it('holds nothing when no bound needs calibrating: a fixed norm, no weight to cap', () => {
    for (const settings of [
      { normBound: 3, weightBound: 'off', weighting: 'examples' },
      { normBound: 3, weightBound: 'adaptive', weighting: 'uniform' },
    ] as const) {
      const bounds = roundBounds(settings, 5)
      const [one] = bounds.admit(report('a', 5, 10_000))
      expect([l2Norm(materialize(one!.delta)), one!.examples]).toEqual([3, 10_000])
      expect(bounds.view()).toEqual({ norm: 3, weight: null, clipped: 1, capped: 0 })
    }
  })

  it('with both off passes every report through as it came', () => {
    const bounds = roundBounds({ ...adaptive, normBound: 'off', weightBound: 'off' }, 5)
    const big = report('a', 1e30, 10_000_000)
    expect(bounds.admit(big)).toEqual([big])
    expect(bounds.view()).toEqual({ norm: null, weight: null, clipped: 0, capped: 0 })
  })

  it('calibrates on what came when the round closes before k reports', () => {
    const bounds = roundBounds(adaptive, 5)
    bounds.admit(report('a', 1))
    bounds.admit(report('b', 9))
    expect(norms(bounds.flush())).toEqual([1, 1])
    expect(bounds.flush()).toEqual([])
    expect(bounds.view()).toMatchObject({ norm: 1, weight: 200, clipped: 1 })
  })

  it('calibrates on min(minReports, 9) reports, an async task on min(bufferSize, 9)', () => {
    const spec = (mode: 'sync' | 'async', minReports: number, bufferSize: number) =>
      calibrationReports({ mode, rounds: { minReports }, async: { bufferSize } })
    expect(spec('sync', 3, 10)).toBe(3)
    expect(spec('sync', 50, 1)).toBe(9)
    expect(spec('async', 50, 2)).toBe(2)
    expect(spec('async', 1, 10)).toBe(9)
  })
})
