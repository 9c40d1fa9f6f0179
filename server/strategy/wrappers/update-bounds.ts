import { partialNumber } from '../../../shared/aggregation/index.ts'
import type { UpdateBounds } from '../../../shared/protocol/index.ts'
import type { Strategy, TrainReport, RoundAggregation } from '../types.ts'
import { wrapStrategy } from './wrap.ts'

/** One round's bounds (server/rounds/update-bounds.ts's roundBounds). */
export interface ReportBounds {
  /** Takes a report, gives back the reports to aggregate now (none while calibrating). */
  admit(report: TrainReport): TrainReport[]
  /** The reports still held, bounded on what came. */
  flush(): TrainReport[]
  view(): UpdateBounds
  /** False where the bounds are fixed for the round: only then do bounded partial sums add up. */
  readonly calibrates?: boolean
  /** Counts what another aggregation of the round clipped and capped (a merged partial). */
  addCounts?: (clipped: number, capped: number) => void
}

/**
 * Bounds each update before `inner` sees it (a norm bound and a weight cap, docs/PROTOCOL.md
 * "What one device can do"), with the round's bounds from `boundsFor`. A report held while the
 * bounds calibrate was answered accepted already: if `inner` refuses it later, that is logged;
 * the report being accepted now is refused to its device instead.
 */
export function withUpdateBounds(
  inner: Strategy,
  boundsFor: (round: number) => ReportBounds,
  { log = () => {} }: { log?: (message: string) => void } = {},
): Strategy {
  const held = new WeakMap<RoundAggregation, ReportBounds>()
  const feed = (
    round: number,
    aggregation: RoundAggregation,
    reports: readonly TrainReport[],
    current?: TrainReport,
  ) => {
    for (const report of reports)
      try {
        aggregation.accept(report)
      } catch (error) {
        if (!(error instanceof RangeError) || report.deviceId === current?.deviceId) throw error
        log(`round ${round}: the report of ${report.deviceId} was left out: ${error.message}`)
      }
  }
  return wrapStrategy(inner, 'bounded', {
    begin({ round }, aggregation) {
      const bounds = boundsFor(round)
      const { partial, merge } = aggregation
      const { addCounts } = bounds
      // Bounds fixed for the round clip each report alone: sums of clipped reports add up.
      const composes = bounds.calibrates === false && partial && merge && addCounts
      const outer: RoundAggregation = {
        accept: (report) => feed(round, aggregation, bounds.admit(report), report),
        bounds: () => bounds.view(),
        ...(composes && {
          partial() {
            const { clipped, capped } = bounds.view()
            const state = partial()
            return { ...state, extra: { ...state.extra, clipped, capped } }
          },
          merge(state) {
            const clipped = partialNumber(state.extra.clipped ?? 0, 'clipped')
            const capped = partialNumber(state.extra.capped ?? 0, 'capped')
            merge(state)
            addCounts(clipped, capped)
          },
        }),
        get reports() {
          return aggregation.reports
        },
        get examples() {
          return aggregation.examples
        },
      }
      held.set(outer, bounds)
      return outer
    },
    // A round that closes before its bounds calibrated: they calibrate on what came.
    finish: (round, outer, aggregation) => feed(round, aggregation, held.get(outer)!.flush()),
  })
}
