import type { DatasetSpec } from './datasets.ts'
import { z } from 'zod'
import type { Codec } from '../tensors/container.ts'
import { SHA256_HEX } from '../tensors/hash.ts'
import {
  type AsyncSettings,
  type DownloadEncoding,
  ModelSpecSchema,
  OPTIMIZERS,
  type TaskMode,
  type TaskStatus,
} from './task.ts'

export const BACKENDS = ['webgpu', 'wasm', 'cpu'] as const
export type Backend = (typeof BACKENDS)[number]

export const EnrolRequestSchema = z.strictObject({
  protocolVersion: z.number().int(),
  label: z.string().max(200).optional(),
})
export type EnrolRequest = z.infer<typeof EnrolRequestSchema>

export interface EnrolAnswer {
  type: 'enrolled'
  deviceId: string
  /** Bearer token for every later device call; the coordinator keeps only its hash. */
  token: string
}

export const CapabilitiesSchema = z.strictObject({
  backend: z.enum(BACKENDS),
  /** Measured local training speed, examples per second (a million is past any phone's). */
  examplesPerSecond: z.number().finite().nonnegative().max(1e6).optional(),
  /** Memory in MB (a terabyte is past any phone's). */
  memoryMB: z.number().finite().nonnegative().max(1e6).optional(),
  charging: z.boolean().optional(),
  network: z.enum(['unmetered', 'metered', 'unknown']).optional(),
  userAgent: z.string().max(500).optional(),
})
export type Capabilities = z.infer<typeof CapabilitiesSchema>

/**
 * The most examples a device may say it holds of one dataset, or say an update was trained on:
 * more than any phone holds, and small enough that no sum of them overflows a count.
 */
export const MAX_DEVICE_EXAMPLES = 10_000_000
/** The most local steps an update may say it took (100 epochs of the most examples, batch 1). */
export const MAX_UPDATE_STEPS = 100 * MAX_DEVICE_EXAMPLES
/** A training loss past this is no loss a model reports: a bound, so that sums of them stay finite. */
export const MAX_UPDATE_LOSS = 1e9

const exampleCount = z.number().int().nonnegative().max(MAX_DEVICE_EXAMPLES)

export const DatasetHeldSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-" only'),
  examples: exampleCount,
  /** Label histogram: labels[k] = number of examples with label k. */
  labels: z.array(exampleCount).max(1000),
})
export type DatasetHeld = z.infer<typeof DatasetHeldSchema>

export const CheckinRequestSchema = z.strictObject({
  protocolVersion: z.number().int(),
  capabilities: CapabilitiesSchema,
  datasets: z.array(DatasetHeldSchema).max(50),
  /**
   * Tasks the device's owner agreed to. A phone always sends it (empty: none agreed); only
   * those tasks are eligible. Without it (a simulated device has no owner) every task is.
   */
  consents: z.array(z.string().min(1).max(100)).max(100).optional(),
})
export type CheckinRequest = z.infer<typeof CheckinRequestSchema>

export interface TrainPlanWire {
  optimizer: (typeof OPTIMIZERS)[number]
  learningRate: number
  batchSize: number
  localEpochs: number
  /** Upper bound on optimizer steps, when the strategy sizes work to the deadline. */
  maxSteps?: number
  /** FedProx's μ: adds μ/2 · ‖w − w_global‖² to the local loss. Absent or 0: plain training. */
  proximalMu?: number
  /**
   * Stop and upload what is done when the deadline is this many seconds away (partial work);
   * absent: the device trains its whole plan and its upload may come too late.
   */
  partialAtSecondsLeft?: number
}

/**
 * Steps a plan takes on `count` examples: epochs × ⌈count / batch⌉, capped by maxSteps. Here,
 * beside the plan, so the phone's page can size its work without loading the training core.
 */
export function plannedSteps(plan: TrainPlanWire, count: number): number {
  const steps = plan.localEpochs * Math.ceil(count / plan.batchSize)
  return Math.min(steps, plan.maxSteps ?? steps)
}

export type ModelSpecWire = z.infer<typeof ModelSpecSchema>

export interface Assignment {
  type: 'assignment'
  taskId: string
  round: number
  dataset: string
  model: { spec: ModelSpecWire; hash: string; url: string }
  plan: TrainPlanWire
  /** ISO time after which the upload is late. */
  deadline: string
  uploadUrl: string
  /**
   * Differential privacy: clip the delta to L2 norm `clipNorm`, then add Gaussian noise of
   * standard deviation `noiseStd` to each entry (0 in central mode: the server adds it to the sum).
   */
  privacy?: { clipNorm: number; noiseStd: number }
  /**
   * Secure aggregation: advertise keys at `url` at once, follow its stages while training, and
   * upload the masked update to `uploadUrl` in the collect stage (docs/PROTOCOL.md).
   */
  secureAggregation?: { url: string }
  /**
   * The tensor container codecs the update may be uploaded in, any other refused, and the
   * encodings the model may be downloaded in (float32 among them). Always sent; optional because
   * an assignment a phone stored before it existed has none (float32 only), as `downloads` may be.
   */
  compression?: { uploads: Codec[]; downloads?: DownloadEncoding[] }
}

export interface RetryLater {
  type: 'retry'
  retryAfterSeconds: number
  reason: string
}

/** No running task this device could ever join with what it holds. */
export interface NothingToDo {
  type: 'none'
  reason: string
}

export type CheckinAnswer = Assignment | RetryLater | NothingToDo

/**
 * What a phone is told of a task (GET /api/v1/devices/tasks): before its owner agrees to it, what
 * they weigh; once it ended, how it ended and how good its final model is. A task the data
 * scientist deleted is no longer listed.
 */
export interface DeviceTaskView {
  id: string
  name: string
  /** Why the data scientist wants this: the reason the owner weighs. */
  purpose: string
  /** `running` or `paused`: on offer; `completed` or `failed`: ended, its final model kept. */
  status: TaskStatus
  /** ISO time the task ended (its last change once completed or failed); null until then. */
  endedAt: string | null
  /** Why it completed before its rounds were done (its privacy budget spent), when it did. */
  stoppedReason?: string
  dataset: string
  /**
   * What the task trains on: an example's features and the classes by name, as the data
   * scientist declared them (null only for a task on a dataset since undeclared, from an
   * older data dir).
   */
  datasetSpec: DatasetSpec | null
  model: { preset: string; parameters: number }
  /** Bytes of one weight update this phone would send per round (never examples). */
  updateBytes: number
  /** `sync`: rounds with deadlines; `async` (FedBuff): a new model version every few updates. */
  mode: TaskMode
  /** Sync: rounds committed of total. Async: model versions committed of total. */
  rounds: { total: number; committed: number; deadlineSeconds: number }
  /** Async tasks' buffer, staleness bound and concurrency; null for a sync task. */
  async: Pick<AsyncSettings, 'bufferSize' | 'maxStaleness' | 'concurrency'> | null
  /** Held-out accuracy (0 to 1) of the latest committed model; null: none committed or measured. */
  accuracy: number | null
  /** Differential privacy and secure aggregation, as the owner should weigh them. */
  privacy: DevicePrivacyView
}

export interface DevicePrivacyView {
  /** null: updates are not clipped or noised. */
  differentialPrivacy: {
    mode: 'central' | 'distributed'
    clipNorm: number
    noiseMultiplier: number
    delta: number
    epsilonBudget: number
    /** ε the task has spent so far (at `delta`). */
    epsilonSpent: number
  } | null
  /** The server learns only the sum of the round's updates. */
  secureAggregation: boolean
}

/**
 * The current global model of a task on offer (GET /api/v1/devices/tasks/<id>/model): what a
 * phone needs to try the model on its owner's drawing. The weights are the immutable blob at
 * `model.url`, so a phone that already holds `model.hash` downloads nothing more.
 */
export interface CurrentModelAnswer {
  type: 'model'
  taskId: string
  /** Rounds committed into this model (0: the initial weights). */
  committedRounds: number
  model: { spec: ModelSpecWire; hash: string; url: string }
}

/** Metadata carried in an update container's header. */
export const UpdateMetadataSchema = z.strictObject({
  /**
   * Distinct examples the delta was trained on: what FedAvg weighs it by. The coordinator also
   * bounds it by what the device declared at the check-in that assigned it, and by steps × batch.
   */
  examples: z.number().int().positive().max(MAX_DEVICE_EXAMPLES),
  /** Optimizer steps taken; at most the steps the device's plan allows on what it declared. */
  steps: z.number().int().nonnegative().max(MAX_UPDATE_STEPS),
  loss: z.number().finite().min(-MAX_UPDATE_LOSS).max(MAX_UPDATE_LOSS).optional(),
  /** Hash of the model the delta was computed against. */
  baseModel: z.string().regex(SHA256_HEX, 'not a SHA-256 hash'),
  /** The device stopped before its plan's steps because the deadline was near. */
  partial: z.boolean().optional(),
})
export type UpdateMetadata = z.infer<typeof UpdateMetadataSchema>

export const UPLOAD_OUTCOMES = [
  'accepted',
  'late',
  'duplicate',
  'unknown-round',
  'rejected',
  'stale',
] as const
export type UploadOutcome = (typeof UPLOAD_OUTCOMES)[number]

export type UploadAnswer =
  | { type: 'accepted'; round: number; reported: number }
  | { type: 'late'; round: number; message: string }
  | { type: 'duplicate'; round: number; message: string }
  | { type: 'unknown-round'; message: string }
  | { type: 'rejected'; round: number; message: string; field?: string }
  /** Async tasks: the update's round is more than `maxStaleness` rounds behind the open one. */
  | { type: 'stale'; round: number; staleness: number; maxStaleness: number; message: string }
