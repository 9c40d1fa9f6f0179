import { stalenessWeight } from '../../../shared/aggregation/index.ts'
import { scaleTensors } from '../../../shared/privacy/index.ts'
import { isEncoded } from '../../../shared/tensors/index.ts'
import type { Strategy, TrainReport } from '../types.ts'
import { wrapStrategy } from './wrap.ts'

/**
 * `report` with its delta times `factor`: in place where the report owns it, else a copy. The
 * norm it carried is the old delta's, so it is left out.
 */
export function scaled(report: TrainReport, factor: number): TrainReport {
  if (factor === 1) return report
  const { norm: _unscaled, ...rest } = report
  // A compressed delta keeps the factor and applies it as it is added: no decoded copy.
  const delta = isEncoded(report.delta)
    ? report.delta.scaled(factor)
    : scaleTensors(report.delta, factor, { inPlace: report.owned === true })
  return { ...rest, delta, owned: true }
}

/**
 * FedBuff's staleness weighting (Nguyen et al. 2022): a report computed `staleness` rounds behind
 * the open one reaches `inner` weighed down by 1/(1 + staleness)^exponent. Goes inside the update
 * bounds, so a stale update is clipped like a fresh one and then weighed down.
 */
export function withStaleness(inner: Strategy, exponent: () => number): Strategy {
  return wrapStrategy(inner, 'staleness', {
    begin: (_, aggregation) => ({
      accept: (report) =>
        aggregation.accept(scaled(report, stalenessWeight(report.staleness ?? 0, exponent()))),
      // Each report is weighed alone: the weighed sums add up as the inner ones do.
      ...(aggregation.partial &&
        aggregation.merge && {
          partial: aggregation.partial,
          merge: aggregation.merge,
        }),
      get reports() {
        return aggregation.reports
      },
      get examples() {
        return aggregation.examples
      },
    }),
  })
}
