import type { Examples } from '../../shared/data/index.ts'
import type { ModelSpecWire, TrainPlanWire } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'

export interface TrainJob {
  spec: ModelSpecWire
  weights: NamedTensor[]
  plan: TrainPlanWire
  examples: Examples
  /** Aborted when the work is no longer wanted (withdrawn, shutting down). */
  signal?: AbortSignal
}

export interface TrainOutcome {
  delta: NamedTensor[]
  examples: number
  steps: number
  loss: number
}

/**
 * What trains a model for a device: in Node the training core directly, in the browser a Web
 * Worker behind Comlink. The device runtime does not care which.
 */
export interface Trainer {
  train(job: TrainJob): Promise<TrainOutcome>
}
