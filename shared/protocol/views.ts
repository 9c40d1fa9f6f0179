import type { AggregationSettings } from './aggregation.ts'
import type {
  AsyncSettings,
  Eligibility,
  PrivacySettings,
  RoundSettings,
  RoundStatus,
  SecureAggregationSettings,
  CompressionSettings,
  TaskMode,
  TaskStatus,
  TrainSettings,
  WorkSettings,
} from './task.ts'

// What the coordinator answers about tasks and rounds (the admin API, its events, the board).

export interface TaskView {
  id: string
  name: string
  purpose: string
  status: TaskStatus
  model: {
    preset: string
    hash: string
    /** Every weight of the model. */
    parameters: number
    /**
     * What an update carries: the weights of the layers that train. Fewer than `parameters` when
     * layers are frozen (`trainable: false`): they stay on the devices as they came.
     */
    trainableParameters: number
    /** Bytes of one device's update payload (trainableParameters × 4). */
    updateBytes: number
  }
  /** What the initial model was drawn from (null: a task created before tasks had seeds). */
  seed: number | null
  dataset: string
  /** Its dataset's class names, by label (empty for a dataset no longer declared). */
  classes: string[]
  /**
   * The held-out set every committed model is evaluated on; null: the dataset has none, so the
   * task trains without held-out evaluation (its rounds' accuracy stays null).
   */
  heldOut: { examples: number; uploadedAt: string } | null
  train: TrainSettings
  rounds: RoundSettings
  aggregation: AggregationSettings
  work: WorkSettings
  eligibility: Eligibility
  mode: TaskMode
  async: AsyncSettings
  privacy: PrivacySettings | null
  secureAggregation: SecureAggregationSettings | null
  /** The codecs a device may upload its update in, and the encodings its model is served in. */
  compression: CompressionSettings
  /** A task with differential privacy: ε spent over its committed rounds, at `privacy.delta`. */
  epsilonSpent: number | null
  /**
   * A private task: the population its sampling rate q = selected / devices is taken over, and
   * where that number comes from: the spec's `privacy.population`, or the active devices that
   * hold its dataset (seen in the last 10 minutes), counted as each round commits.
   */
  samplingPopulation: { devices: number; counted: 'privacy.population' | 'active' } | null
  /** Why the task completed before its rounds were done: the next round would pass its ε budget. */
  stoppedReason?: string
  /** Number of the latest round opened (0 before the first). */
  round: number
  committedRounds: number
  createdAt: string
  updatedAt: string
  /**
   * Why a `failed` task failed (PATCH `status: "running"` resumes it from its last committed
   * model), or, while it runs, what keeps its round from committing (a store that fails).
   */
  error?: string
}

/** Speed tiers by the examples per second a device reports at check-in. */
export const SPEED_TIERS = ['fast', 'medium', 'slow', 'unknown'] as const
export type SpeedTier = (typeof SPEED_TIERS)[number]
/** Examples per second at or above which a device is `fast`, else at or above `medium`, else `slow`. */
export const SPEED_TIER_BOUNDS = { fast: 500, medium: 100 } as const

/** The tier of a device that reports `examplesPerSecond` (unknown when it reports none). */
export function speedTier(examplesPerSecond: number | null | undefined): SpeedTier {
  if (examplesPerSecond === null || examplesPerSecond === undefined) return 'unknown'
  if (examplesPerSecond >= SPEED_TIER_BOUNDS.fast) return 'fast'
  return examplesPerSecond >= SPEED_TIER_BOUNDS.medium ? 'medium' : 'slow'
}

/** A round's participation before anyone reported. */
export function noParticipation(): Participation {
  const none = () => ({ devices: 0, examples: 0 })
  return {
    byBackend: { webgpu: none(), wasm: none(), cpu: none() },
    byTier: { fast: none(), medium: none(), slow: none(), unknown: none() },
    partial: none(),
  }
}

/** Devices that reported in a round, and the examples they contributed. */
export interface ParticipationShare {
  devices: number
  examples: number
}

/** Who took part in a round (devices that reported), by backend and by speed tier. */
export interface Participation {
  byBackend: Record<'webgpu' | 'wasm' | 'cpu', ParticipationShare>
  byTier: Record<SpeedTier, ParticipationShare>
  /** Reports that stopped short of their plan as the deadline neared (partial work). */
  partial: ParticipationShare
}

/** One selected device in one round (GET /api/v1/tasks/:id/rounds/:round/devices). */
export interface RoundDeviceView {
  deviceId: string
  label: string | null
  backend: 'webgpu' | 'wasm' | 'cpu' | null
  tier: SpeedTier
  /** `assigned` until it answers: then reported, rejected or late. */
  state: 'assigned' | 'reported' | 'late' | 'rejected'
  assignedAt: string
  /** When it downloaded the round's model (null: not yet, or it had it already). */
  downloadedAt: string | null
  answeredAt: string | null
  examples: number
  /** Bytes of its update (0 before it uploads). */
  bytesUp: number
}

/**
 * The bounds a round applied to its updates before aggregating them (a task without privacy or
 * secure aggregation): the L2 norm each was clipped to and the cap on its weight (null: off, or
 * not known yet while the round calibrates), and how many reports each bound changed.
 */
export interface UpdateBounds {
  norm: number | null
  weight: number | null
  clipped: number
  capped: number
}

export interface RoundView {
  round: number
  status: RoundStatus
  selected: number
  reported: number
  late: number
  rejected: number
  /** Selected devices that had not reported when the round closed. */
  dropped: number
  examples: number
  accuracy: number | null
  loss: number | null
  /**
   * Held-out accuracy of the committed model per label (index = label): null for a label the
   * held-out set has no examples of; null as a whole where no evaluation ran.
   */
  accuracyByLabel: (number | null)[] | null
  /** The same by class name, in label order (null where not evaluated). */
  accuracyByClass: Record<string, number | null> | null
  /**
   * Held-out examples of the committed model by true label (row) and predicted class (column),
   * one row and column per class; null where no evaluation ran.
   */
  confusion: number[][] | null
  /**
   * Example-weighted mean of the training loss the round's accepted reports carried (the
   * devices' own data, after local training); null where no report said.
   */
  trainingLoss: number | null
  /**
   * An async (FedBuff) round: the updates it applied counted by staleness (index = how many
   * rounds behind they were computed); null for a synchronous round or one that applied none.
   */
  staleness: number[] | null
  /** With differential privacy: the task's ε spent once this round committed (at its δ). */
  epsilon: number | null
  /** What bounded this round's updates; null for a private task (its own clipping bounds them). */
  updateBounds: UpdateBounds | null
  /** Why the round was abandoned (too few reports, a model not fit to commit); else null. */
  abandonedReason: string | null
  baseModel: string
  model: string | null
  startedAt: string
  /** When its first device was assigned; null while none has been. */
  firstAssignedAt: string | null
  /**
   * Seconds the round waited for devices: from its opening to its first assignment, or to its
   * close if none came; null while it still waits.
   */
  waitingSeconds: number | null
  /** Seconds from its first assignment to its close (devices at work); null until both. */
  trainingSeconds: number | null
  deadlineAt: string | null
  closedAt: string | null
  /** Bytes of weight updates received and read this round (reported and rejected). */
  bytesUp: number
  /** Bytes of the round's model sent to devices. */
  bytesDown: number
  /**
   * bytesUp by the codec each update's container named (`float32`, `int8`, `bbit1`…), `masked`
   * for a secure round's masked vectors, `unreadable` where no header could be read: the values
   * add up to bytesUp.
   */
  bytesUpByCodec: Record<string, number>
  /** bytesDown by the encoding each model download went in: the values add up to bytesDown. */
  bytesDownByEncoding: Record<string, number>
  participation: Participation
}
