import { z } from 'zod'

/** Bumped on any incompatible change to the messages below; devices send it at enrol and check-in. */
export const PROTOCOL_VERSION = 1

export const MODEL_PRESETS = ['mnist-2nn', 'mnist-cnn', 'synet'] as const
export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adadelta', 'rmsprop'] as const
export const TASK_STATUSES = ['running', 'paused', 'completed', 'failed'] as const
export const ROUND_STATUSES = ['open', 'committed', 'abandoned'] as const

const finitePositive = z.number().finite().positive()

export const ModelSpecSchema = z.discriminatedUnion('preset', [
  z.strictObject({ preset: z.enum(MODEL_PRESETS) }),
  z.strictObject({
    preset: z.literal('custom'),
    /** A TF.js Layers topology (`model.toJSON()`'s modelTopology). */
    topology: z.record(z.string(), z.unknown()),
    /** Optional initial weights: a base64 tensor container whose names match the topology. */
    initialWeights: z
      .string()
      .max(64 * 1024 * 1024)
      .optional(),
  }),
])
export type ModelSpecInput = z.infer<typeof ModelSpecSchema>

export const TrainSettingsSchema = z.strictObject({
  optimizer: z.enum(OPTIMIZERS).default('sgd'),
  learningRate: finitePositive.max(10).default(0.1),
  batchSize: z.number().int().min(1).max(4096).default(32),
  localEpochs: z.number().int().min(1).max(100).default(1),
})
export type TrainSettings = z.infer<typeof TrainSettingsSchema>

const roundFields = {
  /** Committed rounds wanted; abandoned rounds do not count. */
  total: z.number().int().min(1).max(100_000),
  clientsPerRound: z.number().int().min(1).max(10_000),
  minReports: z.number().int().min(1).max(10_000),
  deadlineSeconds: finitePositive.max(7 * 24 * 3600),
  /** Devices selected per round = ceil(overSelect × clientsPerRound). */
  overSelect: z.number().finite().min(1).max(5),
}

export const RoundSettingsSchema = z
  .strictObject({
    total: roundFields.total.default(20),
    clientsPerRound: roundFields.clientsPerRound.default(10),
    minReports: roundFields.minReports.optional(),
    deadlineSeconds: roundFields.deadlineSeconds.default(120),
    overSelect: roundFields.overSelect.default(1.3),
  })
  .transform((r) => ({ ...r, minReports: r.minReports ?? Math.ceil(r.clientsPerRound / 2) }))
  .superRefine((r, ctx) => {
    if (r.minReports > r.clientsPerRound)
      ctx.addIssue({
        code: 'custom',
        path: ['minReports'],
        message: `must be at most clientsPerRound (${r.clientsPerRound})`,
      })
  })
export type RoundSettings = z.output<typeof RoundSettingsSchema>

export const TaskSpecSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  purpose: z.string().max(4000).default(''),
  model: ModelSpecSchema,
  dataset: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('mnist'),
  train: TrainSettingsSchema.default(TrainSettingsSchema.parse({})),
  rounds: RoundSettingsSchema.default(RoundSettingsSchema.parse({})),
})
export type TaskSpecInput = z.input<typeof TaskSpecSchema>
export type TaskSpec = z.output<typeof TaskSpecSchema>

/** PATCH: pause/resume and round settings for the rounds still to open. */
export const TaskPatchSchema = z
  .strictObject({
    status: z.enum(['running', 'paused']).optional(),
    rounds: z
      .strictObject({
        total: roundFields.total.optional(),
        clientsPerRound: roundFields.clientsPerRound.optional(),
        minReports: roundFields.minReports.optional(),
        deadlineSeconds: roundFields.deadlineSeconds.optional(),
        overSelect: roundFields.overSelect.optional(),
      })
      .optional(),
    train: TrainSettingsSchema.partial().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'nothing to change' })
export type TaskPatch = z.infer<typeof TaskPatchSchema>

export type TaskStatus = (typeof TASK_STATUSES)[number]
export type RoundStatus = (typeof ROUND_STATUSES)[number]

export interface TaskView {
  id: string
  name: string
  purpose: string
  status: TaskStatus
  model: { preset: string; hash: string; parameters: number }
  dataset: string
  train: TrainSettings
  rounds: RoundSettings
  /** Number of the latest round opened (0 before the first). */
  round: number
  committedRounds: number
  createdAt: string
  updatedAt: string
  error?: string
}

/** Speed tiers by the examples per second a device reports at check-in. */
export const SPEED_TIERS = ['fast', 'medium', 'slow', 'unknown'] as const
export type SpeedTier = (typeof SPEED_TIERS)[number]
/** Examples per second at or above which a device is `fast`, else at or above `medium`, else `slow`. */
export const SPEED_TIER_BOUNDS = { fast: 500, medium: 100 } as const

/** Devices that reported in a round, and the examples they contributed. */
export interface ParticipationShare {
  devices: number
  examples: number
}

/** Who took part in a round (devices that reported), by backend and by speed tier. */
export interface Participation {
  byBackend: Record<'webgpu' | 'wasm' | 'cpu', ParticipationShare>
  byTier: Record<SpeedTier, ParticipationShare>
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
  baseModel: string
  model: string | null
  startedAt: string
  deadlineAt: string | null
  closedAt: string | null
  /** Bytes of weight updates received this round (reported, rejected and late). */
  bytesUp: number
  /** Bytes of the round's model sent to devices. */
  bytesDown: number
  participation: Participation
}
