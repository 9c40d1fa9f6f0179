import {
  checkServerState,
  createDeltaMean,
  serverStep,
  type DeltaMean,
  type WeightSpecEntry,
} from '../../shared/aggregation/index.ts'
import {
  AggregationSettingsSchema,
  describeIssues,
  type AggregationSettings,
} from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
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

/**
 * The task's aggregation: each round's reports are averaged under `weighting` (by examples,
 * uniformly, or FedNova's normalized average) and the mean delta goes to the server `optimizer`
 * (FedAvg, FedAvgM, FedAdam, FedYogi), whose moments carry over to the next round. Streams:
 * memory O(model) per open round, plus the optimizer's moments. Settings left out take the task
 * defaults; settings out of range throw a RangeError.
 */
export function strategyFor(options: Partial<AggregationSettings> = {}): AggregationStrategy {
  const parsed = AggregationSettingsSchema.safeParse(options)
  if (!parsed.success) {
    const { field, message } = describeIssues(parsed.error)[0]!
    throw new RangeError(`aggregation.${field}: ${message}`)
  }
  const settings = parsed.data
  const means = new WeakMap<RoundAggregation, DeltaMean>()
  let state: NamedTensor[] = []
  return {
    name: `${settings.optimizer}-${settings.weighting}`,
    settings,
    configureTrain: ({ settings }) => ({ ...settings }),
    beginRound({ spec }) {
      const mean = createDeltaMean(settings.weighting, spec)
      let examples = 0
      const aggregation: RoundAggregation = {
        accept(report) {
          try {
            mean.add(report.delta, report)
          } catch (error) {
            if (!(error instanceof RangeError)) throw error
            const message = `the report from ${report.deviceId} is refused: ${error.message}`
            throw new RangeError(message, { cause: error })
          }
          examples += report.examples
        },
        get reports() {
          return mean.count
        },
        get examples() {
          return examples
        },
      }
      means.set(aggregation, mean)
      return aggregation
    },
    aggregateTrain({ global, aggregation }) {
      const delta = means.get(aggregation)?.mean()
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
