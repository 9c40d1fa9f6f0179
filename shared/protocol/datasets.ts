import { z } from 'zod'

/**
 * A dataset as the data scientist declares it (POST /api/v1/datasets): what one example is, the
 * classes its labels name, and whether phone owners may add examples by hand. The examples stay
 * on the devices; the coordinator holds only this, the devices' counts, and a held-out set.
 */

/** Dataset names: also a path segment and an IndexedDB key, so plain characters only. */
export const DatasetNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-" only')

/** An image side past this is no photo a phone trains on in a round. */
export const MAX_IMAGE_SIDE = 512
/** Classes a label byte can name. */
export const MAX_CLASSES = 256
/** Columns of a tabular example. */
export const MAX_COLUMNS = 1000

const finite = z.number().finite()

/** How a tabular column's raw value becomes the model's input. Absent: used as it is. */
export const ColumnScalingSchema = z.discriminatedUnion('kind', [
  /** (value − mean) / std */
  z.strictObject({ kind: z.literal('standard'), mean: finite, std: finite.positive() }),
  /** (value − min) / (max − min) */
  z
    .strictObject({ kind: z.literal('minmax'), min: finite, max: finite })
    .refine((s) => s.max > s.min, { message: 'max must be greater than min', path: ['max'] }),
])
export type ColumnScaling = z.infer<typeof ColumnScalingSchema>

export const ImageFeaturesSchema = z.strictObject({
  kind: z.literal('image'),
  height: z.number().int().min(1).max(MAX_IMAGE_SIDE),
  width: z.number().int().min(1).max(MAX_IMAGE_SIDE),
  /** 1: grayscale, 3: RGB. */
  channels: z.union([z.literal(1), z.literal(3)], { error: 'must be 1 (grayscale) or 3 (RGB)' }),
})

export const TabularFeaturesSchema = z.strictObject({
  kind: z.literal('tabular'),
  columns: z
    .array(
      z.strictObject({
        name: z.string().trim().min(1).max(100),
        scaling: ColumnScalingSchema.optional(),
      }),
    )
    .min(1)
    .max(MAX_COLUMNS)
    .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'column names must differ'),
})

export const DatasetFeaturesSchema = z.discriminatedUnion('kind', [
  ImageFeaturesSchema,
  TabularFeaturesSchema,
])
export type DatasetFeatures = z.infer<typeof DatasetFeaturesSchema>
export type ImageFeatures = z.infer<typeof ImageFeaturesSchema>
export type TabularFeatures = z.infer<typeof TabularFeaturesSchema>

/** The words, without their defaults: a PATCH must not fill in what it leaves out. */
const Description = z.string().trim().max(4000)
const Tags = z.array(z.string().trim().min(1).max(50)).max(20)

const DatasetSpecFields = {
  description: Description.default(''),
  tags: Tags.default([]),
  /** Label k names class k: the phone shows these, held-out accuracy is reported by them. */
  classes: z
    .array(z.string().trim().min(1).max(100))
    .min(2)
    .max(MAX_CLASSES)
    .refine((cs) => new Set(cs).size === cs.length, 'class names must differ'),
  /** Whether phone owners may add and label examples by hand (camera, files, a CSV, the pad). */
  deviceLabelling: z.boolean().default(true),
}

export const DatasetSpecSchema = z.strictObject({
  name: DatasetNameSchema,
  features: DatasetFeaturesSchema,
  ...DatasetSpecFields,
})
export type DatasetSpec = z.infer<typeof DatasetSpecSchema>
export type DatasetSpecInput = z.input<typeof DatasetSpecSchema>

/**
 * PATCH /api/v1/datasets/:name: the words and the labelling switch. What an example is and its
 * classes are fixed once declared: examples already on phones and every model trained on them
 * depend on them (declare a new dataset instead).
 */
export const DatasetPatchSchema = z
  .strictObject({
    description: Description.optional(),
    tags: Tags.optional(),
    deviceLabelling: z.boolean().optional(),
  })
  .refine(
    (p) => Object.keys(p).length > 0,
    'name at least one of description, tags, deviceLabelling',
  )
export type DatasetPatch = z.infer<typeof DatasetPatchSchema>

/** The shape of one example: [height, width, channels] for images, [columns] for tabular data. */
export function exampleShape(features: DatasetFeatures): number[] {
  return features.kind === 'image'
    ? [features.height, features.width, features.channels]
    : [features.columns.length]
}

/** Values per example. */
export const exampleSize = (features: DatasetFeatures): number =>
  exampleShape(features).reduce((a, b) => a * b, 1)

/** The built-in demo: MNIST digits, whose held-out set the coordinator ships with. */
export const MNIST_DATASET: DatasetSpec = {
  name: 'mnist',
  description: 'Handwritten digits 0–9, 28×28 grayscale (the built-in demo).',
  tags: ['images', 'digits', 'demo'],
  features: { kind: 'image', height: 28, width: 28, channels: 1 },
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  deviceLabelling: true,
}

/**
 * What the devices declare of one dataset (GET /api/v1/datasets): counts, never examples.
 * `active` devices were seen within the coordinator's activity window (docs/PROTOCOL.md);
 * `examples` and `labels` (examples per label, index = label) count the active ones only.
 */
export interface DatasetSummary {
  name: string
  devices: { active: number; enrolled: number }
  examples: number
  labels: number[]
}

/** A declared dataset as the admin API answers it: its spec, the devices' counts, its held-out set. */
export interface DatasetView extends DatasetSpec {
  devices: { active: number; enrolled: number }
  /** Examples the active devices hold, and per class (index = label). */
  examples: number
  labels: number[]
  /** The held-out set the coordinator evaluates every committed model on; null: none uploaded. */
  heldOut: { examples: number; labels: number[]; hash: string; uploadedAt: string } | null
  /** Tasks that train on it. */
  tasks: number
  createdAt: string
  updatedAt: string
}

/**
 * GET /api/v1/datasets[?q=]: declared datasets with their counts, and names devices declare
 * that no one declared (counts only: no spec, no held-out set, no task can use them).
 */
export type DatasetListing =
  (DatasetView & { declared: true }) | (DatasetSummary & { declared: false })

/** The longest search a `q` may be. */
export const MAX_DATASET_QUERY = 200
