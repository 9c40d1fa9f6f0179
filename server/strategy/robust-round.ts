import {
  coordinateMedian,
  createDeltaMean,
  createFlattener,
  multiKrum,
  trimmedMean,
  type WeightSpecEntry,
} from '../../shared/aggregation/index.ts'
import { minimumReports, type AggregationSettings } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import type { TrainReport } from './types.ts'

/** One round's reports on their way to one delta, before the server optimizer's step. */
export interface RoundDelta {
  /** Adds one report, or throws a RangeError and keeps what it had. */
  add(report: TrainReport): void
  readonly count: number
  /** The round's delta, or null to keep the previous model. */
  delta(): NamedTensor[] | null
}

/**
 * A round under a robust rule (median, trimmed-mean, multi-krum). Unlike the mean it cannot
 * stream: it keeps every accepted report as one float32 vector until the round closes, so memory
 * is O(n × model) per open round (n the round's reports), and Multi-Krum's distances take
 * O(n² × model) time at the close. A round with fewer reports than its rule needs
 * (minimumReports) gives null, so the model stays as it was, and says so through `log`.
 *
 * median and trimmed-mean count each report once (the spec makes their weighting "uniform");
 * multi-krum averages the reports it keeps under the task's weighting, by examples by default
 * as Flower's does.
 */
export function robustRound(
  settings: AggregationSettings,
  spec: readonly WeightSpecEntry[],
  { round, log }: { round: number; log: (message: string) => void },
): RoundDelta {
  const { rule } = settings
  if (rule === 'mean') throw new RangeError('the mean streams: use createDeltaMean')
  const flat = createFlattener(spec)
  const reports: { deviceId: string; vector: Float32Array; examples: number; steps: number }[] = []
  // Multi-Krum's kept reports go through the weighting at the close: refuse now what it could not
  // weigh then, as the streaming mean would have.
  const perStep = rule === 'multi-krum' && settings.weighting === 'normalized'
  return {
    add({ deviceId, delta, examples, steps }) {
      if (perStep && !(steps > 0))
        throw new RangeError(
          `steps ${steps} is not positive: normalized weighting divides each delta by its local steps`,
        )
      reports.push({ deviceId, vector: flat.flatten(delta), examples, steps })
    },
    get count() {
      return reports.length
    },
    delta() {
      const n = reports.length
      if (n === 0) return null
      const needed = minimumReports(settings)
      if (n < needed) {
        log(
          `round ${round}: "${rule}" needs at least ${needed} reports, got ${n}: the model stays as it was`,
        )
        return null
      }
      const vectors = reports.map((r) => r.vector)
      if (rule === 'median') return flat.unflatten(coordinateMedian(vectors))
      if (rule === 'trimmed-mean') return flat.unflatten(trimmedMean(vectors, settings.trim))
      const kept = multiKrum(vectors, {
        byzantine: settings.byzantine,
        select: settings.krumSelect,
      })
      const dropped = reports.filter((_, i) => !kept.includes(i)).map((r) => r.deviceId)
      log(
        `round ${round}: multi-krum kept ${kept.length} of ${n} reports, left out ${dropped.join(', ') || 'none'}`,
      )
      const mean = createDeltaMean(settings.weighting, spec)
      for (const i of kept) {
        const { vector, examples, steps } = reports[i]!
        mean.add(flat.unflatten(vector), { examples, steps })
      }
      return mean.mean()
    },
  }
}
