// The data screen's side of the examples store: a dataset's examples added with the shape its
// spec declares, counted per class, deleted. (storage/examples.ts holds the transactions.)
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import {
  addExamples,
  deleteDataset,
  type ExampleSource,
  labelCounts,
  type PollenDatabase,
} from '../storage/index.ts'

/** The shape of one example of `spec` (shared/protocol/datasets.ts's, without its zod). */
export const specShape = ({ features }: Pick<DatasetSpec, 'features'>): number[] =>
  features.kind === 'image'
    ? [features.height, features.width, features.channels]
    : [features.columns.length]

export interface NewExamples {
  /** labels.length examples of the spec's shape, row-major. */
  features: Uint8Array | Float32Array
  labels: Uint8Array
  source: ExampleSource
}

/**
 * Adds examples to `spec`'s dataset, all or none: of its shape, each label one of its classes
 * (the store refuses others, naming the example).
 */
export const storeExamples = (
  db: PollenDatabase,
  spec: DatasetSpec,
  { features, labels, source }: NewExamples,
): Promise<number> =>
  addExamples(db, {
    dataset: spec.name,
    source,
    classes: spec.classes.length,
    examples: { count: labels.length, shape: specShape(spec), features, labels },
  })

/** Examples stored per class of `spec` (index = label). */
export const classCounts = (db: PollenDatabase, spec: DatasetSpec): Promise<number[]> =>
  labelCounts(db, spec.name, spec.classes.length)

/** Deletes every example of one dataset (and what was trained from them); returns how many. */
export const deleteDatasetExamples = (db: PollenDatabase, dataset: string): Promise<number> =>
  deleteDataset(db, dataset)
