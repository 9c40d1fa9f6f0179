import { z } from 'zod'
import { bbitBits, CODECS } from '../tensors/index.ts'
import { AggregationSettingsSchema, tooFewReports, UNWEIGHTED_RULES } from './aggregation.ts'
import { MAX_CLASSES, MAX_COLUMNS } from './datasets.ts'

/** Bumped on any incompatible change to the messages below; devices send it at enrol and check-in. */
export const PROTOCOL_VERSION = 1

/** The MNIST presets: 28×28×1 in, 10 classes out, nothing to size. */
export const MNIST_MODEL_PRESETS = ['mnist-2nn', 'mnist-cnn', 'synet'] as const
export const MODEL_PRESETS = [...MNIST_MODEL_PRESETS, 'cifar-cnn', 'tabular-mlp'] as const
/** Hidden layers a tabular-mlp may have, and units in each: a model a phone trains in a round. */
export const MAX_HIDDEN_LAYERS = 4
export const MAX_HIDDEN_UNITS = 1024
export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adadelta', 'rmsprop'] as const
export const TASK_STATUSES = ['running', 'paused', 'completed', 'failed'] as const
export const ROUND_STATUSES = ['open', 'committed', 'abandoned'] as const

const finitePositive = z.number().finite().positive()

/**
 * Nesting no layer topology needs (a real one is about ten deep). Deeper JSON parses, but the
 * store could not write it back (JSON.stringify overflows its stack near 4,000 levels).
 */
export const MAX_TOPOLOGY_DEPTH = 100

/** Whether `value` nests at most `max` objects or arrays deep; a loop, not recursion. */
function nestsWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (typeof node !== 'object' || node === null) continue
    if (depth >= max) return false
    for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
  return true
}

const classesField = z.number().int().min(2).max(MAX_CLASSES).optional()

/**
 * A sized preset's numbers are optional as sent: the coordinator fills those left out from the
 * task's dataset (classes; a tabular-mlp's inputs, and hidden layers of 64, 64) and stores them.
 */
export const ModelSpecSchema = z.discriminatedUnion('preset', [
  z.strictObject({ preset: z.enum(MNIST_MODEL_PRESETS) }),
  /** McMahan et al. 2017's CIFAR CNN, made phone-sized: 32×32×3 photos. */
  z.strictObject({ preset: z.literal('cifar-cnn'), classes: classesField }),
  /** A small MLP for tabular rows. */
  z.strictObject({
    preset: z.literal('tabular-mlp'),
    inputs: z.number().int().min(1).max(MAX_COLUMNS).optional(),
    hidden: z
      .array(z.number().int().min(1).max(MAX_HIDDEN_UNITS))
      .max(MAX_HIDDEN_LAYERS)
      .optional(),
    classes: classesField,
  }),
  z.strictObject({
    preset: z.literal('custom'),
    /** A TF.js Layers topology (`model.toJSON()`'s modelTopology). */
    topology: z.record(z.string(), z.unknown()).refine((t) => nestsWithin(t, MAX_TOPOLOGY_DEPTH), {
      message: `nests deeper than ${MAX_TOPOLOGY_DEPTH} levels: no layer topology does`,
    }),
    /** Optional initial weights: a base64 tensor container whose names match the topology. */
    initialWeights: z
      .string()
      .max(64 * 1024 * 1024)
      .optional(),
  }),
])
export type ModelSpecInput = z.infer<typeof ModelSpecSchema>

const trainFields = {
  optimizer: z.enum(OPTIMIZERS),
  learningRate: finitePositive.max(10),
  batchSize: z.number().int().min(1).max(4096),
  localEpochs: z.number().int().min(1).max(100),
  /** FedProx's proximal term μ (Li et al. 2020): 0 is plain local training. */
  proximalMu: z.number().finite().min(0).max(10),
}

export const TrainSettingsSchema = z.strictObject({
  optimizer: trainFields.optimizer.default('sgd'),
  learningRate: trainFields.learningRate.default(0.1),
  batchSize: trainFields.batchSize.default(32),
  localEpochs: trainFields.localEpochs.default(1),
  proximalMu: trainFields.proximalMu.default(0),
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
  .superRefine((r, ctx) =>
    roundSettingsIssues(r).forEach((issue) => ctx.addIssue({ code: 'custom', ...issue })),
  )
export type RoundSettings = z.output<typeof RoundSettingsSchema>

/** A rule that spans fields, broken: the path below the object checked, and why. */
export interface RuleIssue {
  path: string[]
  message: string
  /** The other field the rule reads, which a PATCH may have changed: there it names this one. */
  cause?: string[]
}

/** The rule across a round's settings: a round cannot wait for more reports than it asks for. */
export function roundSettingsIssues(r: {
  minReports: number
  clientsPerRound: number
}): RuleIssue[] {
  if (r.minReports <= r.clientsPerRound) return []
  return [
    { path: ['minReports'], message: `must be at most clientsPerRound (${r.clientsPerRound})` },
  ]
}

/**
 * Work sized to the deadline: a device that reported its speed gets a step budget it can finish
 * in (1 − margin) of the time left, and a device that sees the deadline coming uploads the steps
 * it has done (partial work) instead of missing the round.
 */
export const WorkSettingsSchema = z.strictObject({
  deadlineAware: z.boolean().default(false),
  /** Share of the deadline kept in reserve for download, upload and a slower-than-measured run. */
  margin: z.number().finite().min(0).max(0.9).default(0.25),
  partialUploads: z.boolean().default(true),
})
export type WorkSettings = z.infer<typeof WorkSettingsSchema>

/** Backends from least to most capable: `minBackend: 'wasm'` admits wasm and webgpu. */
export const BACKEND_ORDER = ['cpu', 'wasm', 'webgpu'] as const

/** Which devices may take part; a device that does not say what a rule asks about is refused. */
export const EligibilitySchema = z.strictObject({
  minBackend: z.enum(BACKEND_ORDER).optional(),
  minMemoryMB: z.number().finite().nonnegative().optional(),
  requireCharging: z.boolean().default(false),
  requireUnmetered: z.boolean().default(false),
})
export type Eligibility = z.infer<typeof EligibilitySchema>

/**
 * FedBuff (Nguyen et al. 2022): devices train on whatever version is current; the server applies
 * every `bufferSize` updates, each weighted by 1/(1 + τ)^stalenessExponent where τ is how many
 * versions behind it was; updates more than `maxStaleness` behind are refused.
 */
export const AsyncSettingsSchema = z.strictObject({
  bufferSize: z.number().int().min(1).max(10_000).default(10),
  maxStaleness: z.number().int().min(0).max(1000).default(10),
  stalenessExponent: z.number().finite().min(0).max(10).default(0.5),
  /** Devices training at once: how many check-ins get work while the buffer fills. */
  concurrency: z.number().int().min(1).max(10_000).default(20),
})
export type AsyncSettings = z.infer<typeof AsyncSettingsSchema>

/**
 * DP-FedAvg (McMahan et al. 2018): devices clip their update to L2 norm `clipNorm`; Gaussian
 * noise of standard deviation `noiseMultiplier × clipNorm` goes on the sum, added by the server
 * (`central`) or in shares by the devices (`distributed`, so that with secure aggregation no party
 * sees an update without noise). An RDP accountant says what ε each round spends at `delta`; the
 * task stops before a round would take it past `epsilonBudget`.
 */
export const PRIVACY_MODES = ['central', 'distributed'] as const
export type PrivacyMode = (typeof PRIVACY_MODES)[number]

export const PrivacySettingsSchema = z.strictObject({
  clipNorm: finitePositive.max(1e6),
  noiseMultiplier: z.number().finite().min(0).max(1000),
  delta: z.number().finite().positive().max(0.1).default(1e-5),
  epsilonBudget: finitePositive.max(1e6),
  mode: z.enum(PRIVACY_MODES).default('central'),
  /**
   * The eligible population the sampling rate q = devices per round / population is taken over.
   * Absent: the active devices (seen in the last 10 minutes) that hold the task's dataset,
   * counted as each round commits.
   */
  population: z.number().int().min(1).max(1e9).optional(),
})
export type PrivacySettings = z.infer<typeof PrivacySettingsSchema>

/**
 * Secure aggregation (SecAgg+, Bell et al. 2020): the server learns only the sum of the updates.
 * `true` takes the defaults; `threshold` is the share of each device's neighbours needed to
 * unmask (more than half), `range` bounds each entry of an update before it is quantized (default:
 * `privacy.clipNorm` plus six standard deviations of a device's noise, else 1). With a `bbitB`
 * upload codec, `range` bounds the update's L2 norm instead (devices clip to it before rotating).
 */
export const SecureAggregationSettingsSchema = z.strictObject({
  threshold: z.number().finite().gt(0.5).max(1).default(0.6),
  range: finitePositive.max(1e6).optional(),
})
export type SecureAggregationSettings = z.infer<typeof SecureAggregationSettingsSchema>

/**
 * Compression (issue 18): the tensor container codecs a device may upload its update in, float32
 * alone by default. A device picks one within them; the coordinator refuses the rest.
 */
const uploadCodecs = z
  .array(z.enum(CODECS))
  .min(1)
  .max(CODECS.length)
  .refine((codecs) => new Set(codecs).size === codecs.length, 'names a codec twice')
/**
 * How the coordinator may serve a task's model (docs/PROTOCOL.md, "Download the model"): `float32`
 * the model's own bytes, always served (every phone's fallback); `float16` the whole model in
 * halves; `delta` the model as an int8-coded difference from a model the phone holds whole.
 */
export const DOWNLOAD_ENCODINGS = ['float32', 'float16', 'delta'] as const
export type DownloadEncoding = (typeof DOWNLOAD_ENCODINGS)[number]
const downloadEncodings = z
  .array(z.enum(DOWNLOAD_ENCODINGS))
  .min(1)
  .max(DOWNLOAD_ENCODINGS.length)
  .refine((list) => new Set(list).size === list.length, 'names an encoding twice')
  .refine((list) => list.includes('float32'), 'must include float32, every phone’s fallback')
export const CompressionSettingsSchema = z.strictObject({
  uploads: uploadCodecs.default(['float32']),
  downloads: downloadEncodings.default(['float32']),
})
export type CompressionSettings = z.infer<typeof CompressionSettingsSchema>

export const TASK_MODES = ['sync', 'async'] as const
export type TaskMode = (typeof TASK_MODES)[number]

/** The largest seed a task may name: seeds are unsigned 32-bit integers. */
export const MAX_TASK_SEED = 2 ** 32 - 1

const TaskSpecFields = z.strictObject({
  name: z.string().trim().min(1).max(200),
  /**
   * Why the data scientist wants devices to train this: phones show it to their owners before
   * they join, so a task without one is refused rather than offered with nothing to weigh.
   */
  purpose: z
    .string({ error: 'say why devices should train this task: phones show it before joining' })
    .trim()
    .min(1, 'must say why devices should train this task: phones show it before joining')
    .max(4000),
  model: ModelSpecSchema,
  /**
   * Seeds the model's initialisation, for a run that can be repeated; absent, the coordinator
   * draws one and stores it with the task. Ignored for a custom model's own `initialWeights`.
   */
  seed: z.number().int().min(0).max(MAX_TASK_SEED).optional(),
  dataset: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('mnist'),
  train: TrainSettingsSchema.default(TrainSettingsSchema.parse({})),
  rounds: RoundSettingsSchema.default(RoundSettingsSchema.parse({})),
  aggregation: AggregationSettingsSchema.default(AggregationSettingsSchema.parse({})),
  work: WorkSettingsSchema.default(WorkSettingsSchema.parse({})),
  eligibility: EligibilitySchema.default(EligibilitySchema.parse({})),
  /** `sync`: rounds with deadlines; `async`: FedBuff, a new version every `async.bufferSize` updates. */
  mode: z.enum(TASK_MODES).default('sync'),
  async: AsyncSettingsSchema.default(AsyncSettingsSchema.parse({})),
  privacy: PrivacySettingsSchema.nullable().default(null),
  /** `true` for the defaults, an object to tune them, `false` (default) for plain uploads. */
  secureAggregation: z
    .union([z.boolean(), z.null(), SecureAggregationSettingsSchema])
    .default(false)
    .transform((s) =>
      s === false || s === null ? null : SecureAggregationSettingsSchema.parse(s === true ? {} : s),
    ),
  compression: CompressionSettingsSchema.default(CompressionSettingsSchema.parse({})),
})

/** SecAgg+ fixes a round's participants only from this many, so a sum never reveals a pair. */
export const SECURE_MIN_PARTICIPANTS = 3
/** Devices a round selects: ⌈overSelect × clientsPerRound⌉. */
export const selectedPerRound = (r: { overSelect: number; clientsPerRound: number }) =>
  Math.ceil(r.overSelect * r.clientsPerRound - 1e-9)

/**
 * Privacy or secure aggregation (in a spec as sent or as parsed): the server works on a clipped
 * sum, never one update alone, so updates count equally.
 */
export const isPrivate = (spec: { privacy?: unknown; secureAggregation?: unknown }) =>
  (spec.privacy !== undefined && spec.privacy !== null) ||
  (spec.secureAggregation !== undefined &&
    spec.secureAggregation !== null &&
    spec.secureAggregation !== false)

/**
 * What a parsed spec's robust rule cannot have: privacy or secure aggregation (the coordinator
 * must see each update alone), a weighting for an unweighted rule, or too few reports per round.
 */
function robustRuleIssues(spec: z.output<typeof TaskSpecFields>): RuleIssue[] {
  const { rule, weighting } = spec.aggregation
  if (rule === 'mean') return []
  if (spec.secureAggregation || spec.privacy) {
    const why = spec.secureAggregation
      ? 'with secureAggregation the coordinator sees only the sum of the updates, never one alone'
      : 'with privacy the accountant counts on the noised sum of every clipped update, and a rule that picks updates by their values changes what one update can reveal'
    const message = `"${rule}" needs each update in the clear: ${why}; use "mean"`
    return [{ path: ['aggregation', 'rule'], message }]
  }
  const issues: RuleIssue[] = []
  if (UNWEIGHTED_RULES.includes(rule) && weighting !== 'uniform')
    issues.push({
      path: ['aggregation', 'weighting'],
      message: `must be "uniform" with rule "${rule}": it counts each report once, whatever its examples`,
    })
  const async = spec.mode === 'async'
  const reports = async ? spec.async.bufferSize : spec.rounds.minReports
  const few = tooFewReports(
    spec.aggregation,
    reports,
    async ? 'async.bufferSize' : 'rounds.minReports',
  )
  if (few) {
    const cause = async ? ['async', 'bufferSize'] : ['rounds', 'minReports']
    issues.push({ path: few.field.split('.'), message: few.message, cause })
  }
  return issues
}

/**
 * Compression with secure aggregation (PROTOCOL.md has the table): the masked sum mixes every
 * device's words, so a round masks one way, float32's fixed point or one bbitB quantized before
 * masking; float16, int8 and topk cannot be summed under masks. A b-bit round's quantized vector
 * can be far from the clipped one (a shared grid, not a per-device scale), so one device's
 * influence on the sum is no longer bounded by clipNorm and the accountant would not hold: b-bit
 * with privacy is refused. Privacy without secure aggregation takes any codec (the server clips
 * what it decodes).
 */
function secureCompressionIssues(spec: z.output<typeof TaskSpecFields>): RuleIssue[] {
  if (!spec.secureAggregation) return []
  const { uploads } = spec.compression
  const path = ['compression', 'uploads']
  const bbit = uploads.length === 1 && bbitBits(uploads[0]!) !== null
  if (uploads.length !== 1 || (uploads[0] !== 'float32' && !bbit))
    return [
      {
        path,
        message:
          'with secureAggregation, name one codec: "float32", or one of "bbit1".."bbit4" (quantized before masking); float16, int8 and topk cannot be summed under masks',
      },
    ]
  if (bbit && spec.privacy)
    return [
      {
        path,
        message:
          'b-bit secure aggregation with privacy is not supported: a device’s quantized update is not bounded by clipNorm, so the accountant’s ε would not hold; use ["float32"]',
      },
    ]
  return []
}

/**
 * What a private task (privacy or secure aggregation) cannot have: bounds its own clipping makes
 * pointless, a weighting by examples, async mode, distributed noise without a secure sum, or too
 * few devices a round for a sum to hide one.
 */
function privateTaskIssues(spec: z.output<typeof TaskSpecFields>): RuleIssue[] {
  if (!isPrivate(spec)) return []
  const issues: RuleIssue[] = []
  // A private task's own clipping bounds its updates, which count equally: these would do nothing.
  for (const field of ['normBound', 'weightBound'] as const)
    if (spec.aggregation[field] !== 'adaptive')
      issues.push({
        path: ['aggregation', field],
        message: `leave it out with privacy or secure aggregation: every update is clipped to privacy.clipNorm (or clamped to secureAggregation.range) and counts equally, so ${field} would change nothing`,
      })
  if (spec.aggregation.weighting !== 'uniform')
    issues.push({
      path: ['aggregation', 'weighting'],
      message:
        'must be "uniform" with privacy or secure aggregation: a clipped update\'s weight cannot depend on its examples, and the server sees only the sum',
    })
  if (spec.mode === 'async')
    issues.push({
      path: ['mode'],
      message: 'privacy and secure aggregation need rounds: use mode "sync"',
    })
  // Each device's share of the noise is clipped away if the server clips its update alone, and
  // the server would see that update with only its share: the noise must meet in a secure sum.
  if (spec.privacy?.mode === 'distributed' && !spec.secureAggregation)
    issues.push({
      path: ['privacy', 'mode'],
      message:
        '"distributed" needs secureAggregation: without it the coordinator sees each update with only its own share of the noise',
    })
  issues.push(...secureCompressionIssues(spec))
  if (spec.secureAggregation && selectedPerRound(spec.rounds) < SECURE_MIN_PARTICIPANTS)
    issues.push({
      path: ['rounds', 'clientsPerRound'],
      message: `secure aggregation needs at least ${SECURE_MIN_PARTICIPANTS} devices selected per round (⌈overSelect × clientsPerRound⌉), so that no sum is of fewer`,
    })
  return issues
}

/**
 * The rules that span a task's fields, over a parsed spec: the schema's refinements, and what a
 * PATCH's merged task is checked by (`mergeTaskPatch`), so both refuse alike.
 */
export function taskSpecIssues(spec: z.output<typeof TaskSpecFields>): RuleIssue[] {
  return [...robustRuleIssues(spec), ...privateTaskIssues(spec)]
}

/** The task schema over `fields`: defaults, then the rules that span fields. */
const taskSpecSchema = (fields: z.ZodType<z.output<typeof TaskSpecFields>>) =>
  z
    .preprocess((input) => {
      // A private task, or one whose rule counts every report once, averages uniformly unless it
      // says otherwise (and then it is refused below).
      if (typeof input !== 'object' || input === null) return input
      const spec = input as { aggregation?: unknown }
      const aggregation = spec.aggregation ?? {}
      if (typeof aggregation !== 'object' || aggregation === null) return input
      if ('weighting' in aggregation) return input
      const { rule } = aggregation as { rule?: unknown }
      const unweighted = UNWEIGHTED_RULES.some((r) => r === rule)
      if (!isPrivate(input) && !unweighted) return input
      return { ...spec, aggregation: { ...aggregation, weighting: 'uniform' } }
    }, fields)
    .superRefine((spec, ctx) =>
      taskSpecIssues(spec).forEach(({ path, message }) =>
        ctx.addIssue({ code: 'custom', path, message }),
      ),
    ) as z.ZodType<unknown, unknown> as z.ZodType<
    z.output<typeof TaskSpecFields>,
    z.input<typeof TaskSpecFields>
  >

// The preprocess step hides the input type; the casts give it back.
export const TaskSpecSchema = taskSpecSchema(TaskSpecFields)

/** A stored task's spec: tasks created before a purpose was required may have none. */
export const StoredTaskSpecSchema = taskSpecSchema(
  TaskSpecFields.extend({ purpose: z.string().max(4000).default('') }),
)
export type TaskSpecInput = z.input<typeof TaskSpecSchema>
export type TaskSpec = z.output<typeof TaskSpecSchema>

/** PATCH: pause/resume, and round, train and compression settings for the rounds still to open. */
/** A PATCH part that names no field would be answered 200 having changed nothing: refused. */
const changing = <T extends z.ZodType<object>>(part: T) =>
  part.refine((p) => Object.keys(p).length > 0, { message: 'nothing to change' })

export const TaskPatchSchema = changing(
  z.strictObject({
    status: z.enum(['running', 'paused']).optional(),
    rounds: changing(
      z.strictObject({
        total: roundFields.total.optional(),
        clientsPerRound: roundFields.clientsPerRound.optional(),
        minReports: roundFields.minReports.optional(),
        deadlineSeconds: roundFields.deadlineSeconds.optional(),
        overSelect: roundFields.overSelect.optional(),
      }),
    ).optional(),
    // No defaults here: a PATCH of one train field leaves the others as the task has them.
    train: changing(z.strictObject(trainFields).partial()).optional(),
    compression: changing(
      z.strictObject({ uploads: uploadCodecs.optional(), downloads: downloadEncodings.optional() }),
    ).optional(),
  }),
)
export type TaskPatch = z.infer<typeof TaskPatchSchema>

export type TaskStatus = (typeof TASK_STATUSES)[number]
export type RoundStatus = (typeof ROUND_STATUSES)[number]
