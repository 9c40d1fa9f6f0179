import {
  checkServerState,
  createDeltaMean,
  partialNumber,
  serverStep,
  type WeightSpecEntry,
} from '../../shared/aggregation/index.ts'
import {
  AggregationSettingsSchema,
  describeIssues,
  UNWEIGHTED_RULES,
  type AggregationSettings,
} from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import { robustRound, type RoundDelta } from './robust-round.ts'
import type { RoundAggregation, Strategy } from './types.ts'

/** A strategy that keeps a server optimizer's state from round to round: one per task. */
export interface AggregationStrategy extends Strategy {
  readonly settings: AggregationSettings
  /**
   * A copy of the optimizer's moments (`m:<weight>`, `v:<weight>`), to persist beside the model:
   * [] before the first step, and always for FedAvg.
   */
  state(): NamedTensor[]
  /**
   * Continues from a state that state() gave for the model `spec` ([] starts afresh); throws a
   * RangeError, and keeps the state it had, if `state` does not fit the optimizer and the model.
   */
  restore(state: readonly NamedTensor[], spec: readonly WeightSpecEntry[]): void
}

const copy = (t: NamedTensor): NamedTensor => ({ ...t, shape: [...t.shape], data: t.data.slice() })

export interface StrategyOptions {
  /** Where a round that keeps the previous model says why (a robust rule short of reports). */
  log?: (message: string) => void
}

/** The mean's round: streams, memory O(model). */
function meanRound(settings: AggregationSettings, spec: readonly WeightSpecEntry[]): RoundDelta {
  const mean = createDeltaMean(settings.weighting, spec)
  return {
    add: (report) => mean.add(report.delta, report),
    get count() {
      return mean.count
    },
    delta: () => Promise.resolve(mean.mean()),
    partial: () => mean.partial(),
    merge: (partial) => mean.merge(partial),
  }
}

/**
 * The task's aggregation: each round's reports become one delta under its `rule` (`mean`: under
 * `weighting`, by examples, uniformly, or FedNova's normalized average; or a robust rule, see
 * robustRound) and the delta goes to the server `optimizer` (FedAvg, FedAvgM, FedAdam, FedYogi),
 * whose moments carry over to the next round. The mean streams: memory O(model) per open round,
 * plus the optimizer's moments; a robust rule keeps the round's reports, O(n × model). Settings
 * left out take the task defaults; settings out of range throw a RangeError.
 */
export function strategyFor(
  options: Partial<AggregationSettings> = {},
  { log = () => {} }: StrategyOptions = {},
): AggregationStrategy {
  const parsed = AggregationSettingsSchema.safeParse(options)
  if (!parsed.success) {
    const { field, message } = describeIssues(parsed.error)[0]!
    throw new RangeError(`aggregation.${field}: ${message}`)
  }
  const settings = parsed.data
  const rounds = new WeakMap<RoundAggregation, RoundDelta>()
  let state: NamedTensor[] = []
  const { rule, optimizer, weighting } = settings
  // median and trimmed-mean weigh no report more than another: their names leave weighting out.
  const weighted = !UNWEIGHTED_RULES.includes(rule)
  const parts = [rule === 'mean' ? [] : [rule], [optimizer], weighted ? [weighting] : []]
  return {
    name: parts.flat().join('-'),
    settings,
    configureTrain: ({ settings }) => ({ ...settings }),
    beginRound({ round, spec }) {
      const delta =
        rule === 'mean' ? meanRound(settings, spec) : robustRound(settings, spec, { round, log })
      let examples = 0
      const { partial, merge } = delta
      const aggregation: RoundAggregation = {
        accept(report) {
          try {
            delta.add(report)
          } catch (error) {
            if (!(error instanceof RangeError)) throw error
            const message = `the report from ${report.deviceId} is refused: ${error.message}`
            throw new RangeError(message, { cause: error })
          }
          examples += report.examples
          // The running sum added the delta, a robust rule copied it: its body may be reused.
          report.release?.()
        },
        ...(partial &&
          merge && {
            partial: () => {
              const { count, ...state } = partial()
              return { ...state, reports: count, examples }
            },
            merge(state) {
              const n = partialNumber(state.examples, 'examples')
              merge({ ...state, count: state.reports })
              examples += n
            },
          }),
        get reports() {
          return delta.count
        },
        get examples() {
          return examples
        },
      }
      rounds.set(aggregation, delta)
      return aggregation
    },
    async aggregateTrain({ global, aggregation }) {
      const delta = await rounds.get(aggregation)?.delta()
      if (!delta) return null
      // The state moves on only once the step has succeeded.
      const next = serverStep(settings, { weights: global, delta, state })
      state = next.state
      return next.weights
    },
    configureEvaluate: () => ({ heldOut: true }),
    aggregateEvaluate: ({ heldOut }) => ({
      accuracy: heldOut?.accuracy ?? null,
      loss: heldOut?.loss ?? null,
      accuracyByLabel: heldOut ? [...heldOut.perLabelAccuracy] : null,
      confusion: heldOut ? heldOut.confusion.map((row) => [...row]) : null,
    }),
    state: () => state.map(copy),
    restore(next, spec) {
      checkServerState(settings.optimizer, spec, next)
      state = next.map(copy)
    },
  }
}
