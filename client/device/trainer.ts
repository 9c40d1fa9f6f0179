import type { Examples } from '../../shared/data/index.ts'
import type { ModelSpecWire, TrainPlanWire } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import type { TrainCheckpoint, TrainProgress } from '../../shared/training/index.ts'

export type { TrainCheckpoint, TrainProgress }

export interface TrainJob {
  spec: ModelSpecWire
  weights: NamedTensor[]
  plan: TrainPlanWire
  examples: Examples
  /** Aborted when the work is no longer wanted (withdrawn, shutting down). */
  signal?: AbortSignal
  /** Carry on from a checkpoint of this same job, made before a reload. */
  resumeFrom?: TrainCheckpoint
  /** Hand a checkpoint to `onCheckpoint` every this many steps. */
  checkpointEvery?: number
  /** Awaited before training goes on (store it, and the next comes after). */
  onCheckpoint?: (checkpoint: TrainCheckpoint) => Promise<void>
  /** After every step: steps done, of how many, and the batch's loss. */
  onProgress?: (progress: TrainProgress) => void
  /**
   * Partial work: past this time (ms since the epoch) stop after the current step and answer
   * with the steps done, `partial: true`.
   */
  stopAt?: number
}

export interface TrainOutcome {
  delta: NamedTensor[]
  examples: number
  steps: number
  loss: number
  /** Stopped at `stopAt` before the plan's steps were done. */
  partial?: boolean
  /** Time spent training, without the wait for a trainer shared with other jobs. */
  trainingMs?: number
}

/**
 * What trains a model for a device: in Node the training core directly, in the browser a Web
 * Worker behind Comlink. The device runtime does not care which.
 */
export interface Trainer {
  train(job: TrainJob): Promise<TrainOutcome>
}
