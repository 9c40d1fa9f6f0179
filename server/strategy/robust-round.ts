import { materialize } from '../../shared/tensors/index.ts'
import {
  coordinateMedian,
  createDeltaMean,
  createFlattener,
  createPairwiseDistances,
  krumScoresOf,
  krumSelect,
  trimmedMean,
  type MeanPartial,
  type WeightSpecEntry,
} from '../../shared/aggregation/index.ts'
import {
  minimumReports,
  type AggregationSettings,
  type TaskSpec,
} from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import type { TrainReport } from './types.ts'

/** One round's reports on their way to one delta, before the server optimizer's step. */
export interface RoundDelta {
  /** Adds one report, or throws a RangeError and keeps what it had. */
  add(report: TrainReport): void
  readonly count: number
  /** The round's delta, or null to keep the previous model. */
  delta(): Promise<NamedTensor[] | null>
  /** Where the rule adds up (the mean): its state, and the merge of another's. */
  partial?: () => MeanPartial
  merge?: (partial: MeanPartial) => void
}

/**
 * A round under a robust rule (median, trimmed-mean, multi-krum). Unlike the mean it cannot
 * stream: it keeps every accepted report as one float32 vector until the round closes, so memory
 * is O(n × model) per open round (n the round's reports), and the median and trimmed mean take
 * O(n × model) time at the close (a selection per coordinate), in chunks that let the coordinator
 * answer other requests meanwhile. Multi-Krum measures each report against the earlier
 * ones as it arrives (O(n × model) per report; n²/2 distances kept). A round with fewer reports than its rule needs
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
  // Multi-Krum measures each report against the earlier ones as it arrives, not all at the close.
  const distances = rule === 'multi-krum' ? createPairwiseDistances() : null
  return {
    add({ deviceId, delta, examples, steps }) {
      if (perStep && !(steps > 0))
        throw new RangeError(
          `steps ${steps} is not positive: normalized weighting divides each delta by its local steps`,
        )
      // A robust rule keeps every update whole: a compressed one is decoded here.
      const vector = flat.flatten(materialize(delta))
      distances?.add(vector)
      reports.push({ deviceId, vector, examples, steps })
    },
    get count() {
      return reports.length
    },
    async delta() {
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
      if (rule === 'median') return flat.unflatten(await coordinateMedian(vectors))
      if (rule === 'trimmed-mean') return flat.unflatten(await trimmedMean(vectors, settings.trim))
      const { byzantine, krumSelect: select } = settings
      const kept = krumSelect(krumScoresOf(distances!, byzantine), { byzantine, select })
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

/** The most a robust rule's round may hold: its reports as float32, and Multi-Krum's distances. */
export const ROBUST_ROUND_BYTES = 2 ** 30

/**
 * Why a task's rule would hold more than `budget` bytes in one round of a model of `parameters`
 * weights (field and message), or null. A sync round keeps at most `clientsPerRound` reports (it
 * closes there), an async one `bufferSize`.
 */
export function robustMemoryRefusal(
  spec: Pick<TaskSpec, 'aggregation' | 'mode' | 'rounds' | 'async'>,
  parameters: number,
  budget = ROBUST_ROUND_BYTES,
): { field: string; message: string } | null {
  const { rule } = spec.aggregation
  if (rule === 'mean') return null
  const async = spec.mode === 'async'
  const n = async ? spec.async.bufferSize : spec.rounds.clientsPerRound
  // Pairwise distances: n²/2 float64s.
  const bytes = n * parameters * 4 + (rule === 'multi-krum' ? 4 * n * n : 0)
  if (bytes <= budget) return null
  const mib = (b: number) => Math.ceil(b / 2 ** 20)
  return {
    field: async ? 'async.bufferSize' : 'rounds.clientsPerRound',
    message: `"${rule}" keeps a round's reports until it closes: ${n} of ${parameters} weights are ${mib(bytes)} MiB, over the ${mib(budget)} MiB a round may hold; take fewer reports a round`,
  }
}
