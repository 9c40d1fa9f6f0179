import type { WeightSpecEntry } from '../../shared/aggregation/index.ts'
import type { TrainPlanWire, TrainSettings, UpdateBounds } from '../../shared/protocol/index.ts'
import type { NamedTensor, UpdateTensors } from '../../shared/tensors/index.ts'
import type { HeldOutResult } from '../evaluation/index.ts'
import type { DeviceRecord } from '../store/index.ts'

/** One device's accepted update. */
export interface TrainReport {
  deviceId: string
  /**
   * Float32 tensors, or a compressed update left encoded (issue 18): the mean adds it block by
   * block; whatever needs it whole (a robust rule, DP's clipping) decodes it (`materialize`).
   */
  delta: UpdateTensors
  examples: number
  steps: number
  loss?: number
  /** FedBuff: rounds between the model it was computed on and the open one (withStaleness). */
  staleness?: number
  /**
   * True when `delta`'s arrays belong to this report alone (views of its upload's body, read for
   * it): a wrapper that scales the delta (a norm bound, a staleness weight) may then scale it in
   * place instead of copying the model's size, and the report it passes on is owned in turn.
   * Left out, the delta is never written to.
   */
  owned?: boolean
  /**
   * ‖delta‖₂, where whoever built the report computed it already (an upload's admission, in the
   * pass that checks its values are finite): the norm bound reads it instead of another pass
   * over the model's size. A wrapper that passes on a changed delta leaves it out (`scaled`).
   */
  norm?: number
  /**
   * Called by the aggregation that took what it needs from `delta` (added it to a sum, copied it):
   * the upload's body, which the delta's arrays view, may then serve the next upload. Whoever
   * keeps the delta (a bound that calibrates holds it) does not call it until it passed it on.
   */
  release?: () => void
}

/** Why a selected device contributed nothing; passed to the strategy explicitly. */
export interface Failure {
  deviceId: string
  reason: 'dropped' | 'rejected'
}

/** A round's aggregation in progress: takes reports one at a time, keeps O(model) state. */
export interface RoundAggregation {
  /** Adds one report; a RangeError refuses it and leaves the round as it was. */
  accept(report: TrainReport): void
  /**
   * Adds the sum of `count` updates, flat in the model's order: what secure aggregation unmasks.
   * Only an aggregation that counts every update once can take it (withPrivateMean).
   */
  acceptSum?(sum: Float64Array, count: number): void
  /** The bounds applied to the round's updates so far, where a wrapper bounds them. */
  bounds?(): UpdateBounds
  /**
   * Where the round's maths composes by addition (a weighted mean, clipped with a bound fixed
   * for the round): its state so far, for another aggregation of the same round to merge. An
   * aggregation that does not add up (a robust rule, a bound that calibrates within the round)
   * has neither partial nor merge: it is fed every update instead.
   */
  partial?: () => PartialState
  /** Adds another aggregation's partial(): as if it had accepted that one's reports too. */
  merge?: (partial: PartialState) => void
  readonly reports: number
  readonly examples: number
}

/**
 * A round's aggregation state where it composes by addition (hierarchical aggregation: each
 * coordinator replica folds the updates it accepts, the task's owner merges them at the close).
 */
export interface PartialState {
  reports: number
  examples: number
  /** The mean's Σ of weights (the normalized mean: Σ examples). */
  weight: number
  /** Σ weight·delta, flat in the update spec's order, float64. */
  sum: Float64Array
  /** What else a layer needs to add up (the normalized mean's Σ examples·steps, bound counts). */
  extra: Record<string, unknown>
}

export interface RoundMetrics {
  accuracy: number | null
  loss: number | null
  /** Held-out accuracy per label (index = label; null where the held-out set has none). */
  accuracyByLabel: (number | null)[] | null
  /** Held-out examples by true label (row) and predicted class (column). */
  confusion: number[][] | null
}

/**
 * How a task turns reports into the next model (after Flower's Strategy): configure the work,
 * aggregate it, configure and aggregate evaluation. The maths lives in pure functions in
 * shared/aggregation; this is orchestration.
 */
export interface Strategy {
  readonly name: string
  configureTrain(input: {
    round: number
    settings: TrainSettings
    device: DeviceRecord
  }): TrainPlanWire
  beginRound(input: { round: number; spec: readonly WeightSpecEntry[] }): RoundAggregation
  /**
   * The next global weights, or null to keep the previous model. A rule that takes long at the
   * close (the median of many reports) returns a Promise and yields on the way, so the
   * coordinator keeps answering meanwhile.
   */
  aggregateTrain(input: {
    round: number
    global: readonly NamedTensor[]
    aggregation: RoundAggregation
    failures: readonly Failure[]
  }): NamedTensor[] | null | Promise<NamedTensor[] | null>
  /** Whether to evaluate the new model on the coordinator's held-out set. */
  configureEvaluate(input: { round: number }): { heldOut: boolean }
  aggregateEvaluate(input: { round: number; heldOut: HeldOutResult | null }): RoundMetrics
  /** What the strategy carries from round to round (a server optimizer's moments), to persist. */
  state?(): NamedTensor[]
  /** Carries on from a state that state() gave for the model `spec`; throws if it does not fit. */
  restore?(state: readonly NamedTensor[], spec: readonly WeightSpecEntry[]): void
}
