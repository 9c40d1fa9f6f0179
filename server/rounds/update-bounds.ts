import { l2Norm } from '../../shared/privacy/index.ts'
import { isEncoded, type UpdateTensors } from '../../shared/tensors/index.ts'
import {
  type AggregationSettings,
  BOUND_GROWTH,
  BOUNDS_CALIBRATION_REPORTS,
  NORM_BOUND_QUANTILE,
  type UpdateBounds,
  WEIGHT_CAP_MULTIPLE,
} from '../../shared/protocol/index.ts'
import { scaled, type TrainReport } from '../strategy/index.ts'

/** One round's bounds on the updates of a task without privacy or secure aggregation. */
export interface RoundBounds {
  /**
   * Takes an accepted report and gives back the reports to aggregate now, clipped and capped:
   * none while an adaptive bound still calibrates, then the calibration reports and this one.
   * `scale` multiplies the delta after clipping (FedBuff's staleness weight), so a stale update
   * is clipped like a fresh one and then weighed down.
   */
  admit(report: TrainReport, scale?: number): TrainReport[]
  /** The reports still held (a round that closes before calibrating), bounded on what came. */
  flush(): TrainReport[]
  /** The bounds applied, and how many reports each changed. */
  view(): UpdateBounds
  /** Whether a bound calibrates on the round's first reports (else they are fixed for it). */
  readonly calibrates: boolean
  /** Counts reports another aggregation of the round clipped and capped (a merged partial). */
  addCounts: (clipped: number, capped: number) => void
}

export type BoundSettings = Pick<AggregationSettings, 'normBound' | 'weightBound' | 'weighting'>

/**
 * The value at quantile `q` of `values`, rounding down to one of them: the lower median at 0.5
 * (the smaller of the two middle ones), the lower quartile at 0.25.
 */
export function lowerQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const at = sorted[Math.floor((sorted.length - 1) * q)]
  if (at === undefined) throw new RangeError('the quantile of nothing')
  return at
}

/** The value at the lower middle of `values` (the smaller of the two middle ones). */
export const lowerMedian = (values: readonly number[]) => lowerQuantile(values, 0.5)

/** `calibrated`, risen at most BOUND_GROWTH times over `previous` where there is one. */
const grown = (calibrated: number, previous: number | null | undefined) =>
  previous === null || previous === undefined || !(previous > 0)
    ? calibrated
    : Math.min(calibrated, BOUND_GROWTH * previous)

/**
 * ‖delta‖₂: a compressed delta's from its reading, times what a wrapper scaled it by since (off
 * from the scaled entries' own norm by float32 rounding only; never a decoded copy per upload).
 */
const normOf = (delta: UpdateTensors): number =>
  isEncoded(delta)
    ? delta.factors.reduce((norm, f) => norm * Math.abs(f), delta.norm)
    : l2Norm(delta)

/**
 * A round's norm bound and weight cap (docs/PROTOCOL.md, "What one device can do"). An adaptive
 * bound is calibrated on the round's first `calibrateOn` reports, which are held until they are
 * all in (a quantile bound after Andrew et al. 2021): the norm bound is the lower quartile of their
 * L2 norms (NORM_BOUND_QUANTILE), the weight cap WEIGHT_CAP_MULTIPLE times the lower median of
 * their examples, each at most BOUND_GROWTH times the `previous` committed round's. Those reports and
 * every later one are then bounded as they go into the aggregation, so the round streams again:
 * O(model) memory once calibrated. Under uniform weighting examples weigh nothing, so there is no
 * weight to cap.
 */
export function roundBounds(
  settings: BoundSettings,
  calibrateOn: number,
  previous: Pick<UpdateBounds, 'norm' | 'weight'> | null = null,
): RoundBounds {
  const weighs = settings.weighting !== 'uniform' && settings.weightBound === 'adaptive'
  let norm: number | null = typeof settings.normBound === 'number' ? settings.normBound : null
  let weight: number | null = null
  let clipped = 0
  let capped = 0
  const calibrating = settings.normBound === 'adaptive' || weighs
  let held: { report: TrainReport; scale: number; norm: number }[] | null = calibrating ? [] : null

  function bound(report: TrainReport, scale: number, reportNorm: number): TrainReport {
    const clip = norm !== null && reportNorm > norm ? norm / reportNorm : 1
    if (clip < 1) clipped++
    const examples = weight !== null && report.examples > weight ? weight : report.examples
    if (examples < report.examples) capped++
    // A delta this report owns is scaled where it is: no 4.8 MB copy per clipped synet update.
    return { ...scaled(report, clip * scale), examples }
  }

  function calibrate(): TrainReport[] {
    const reports = held ?? []
    held = null
    if (reports.length === 0) return []
    if (settings.normBound === 'adaptive')
      norm = grown(
        lowerQuantile(
          reports.map((r) => r.norm),
          NORM_BOUND_QUANTILE,
        ),
        previous?.norm,
      )
    if (weighs)
      weight = grown(
        WEIGHT_CAP_MULTIPLE * lowerMedian(reports.map((r) => r.report.examples)),
        previous?.weight,
      )
    return reports.map((r) => bound(r.report, r.scale, r.norm))
  }

  return {
    admit(report, scale = 1) {
      // Only a norm bound needs the norm: an O(model) pass saved when there is none, or when the
      // upload's admission computed it already.
      const reportNorm = settings.normBound === 'off' ? 0 : (report.norm ?? normOf(report.delta))
      if (held === null) return [bound(report, scale, reportNorm)]
      held.push({ report, scale, norm: reportNorm })
      return held.length >= calibrateOn ? calibrate() : []
    },
    flush: calibrate,
    view: () => ({ norm, weight, clipped, capped }),
    calibrates: calibrating,
    addCounts(more, fewer) {
      clipped += more
      capped += fewer
    },
  }
}

/** Reports an adaptive bound calibrates on: min(minReports, 9), an async task's min(bufferSize, 9). */
export function calibrationReports(spec: {
  mode: 'sync' | 'async'
  rounds: { minReports: number }
  async: { bufferSize: number }
}): number {
  const needed = spec.mode === 'async' ? spec.async.bufferSize : spec.rounds.minReports
  return Math.max(1, Math.min(needed, BOUNDS_CALIBRATION_REPORTS))
}
