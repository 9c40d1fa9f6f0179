import type { IDBPIndex, StoreNames } from 'idb'
import {
  assertExamples,
  type Examples,
  formatShape,
  sameShape,
  shapeSize,
} from '../../../shared/data/index.ts'
import {
  type ExampleRecord,
  type ExampleSource,
  INDEXES,
  type PollenDatabase,
  type PollenDB,
  type SettingRecord,
  STORES,
} from './schema.ts'

export interface ReplaceOptions {
  dataset: string
  /** Examples from this source in `dataset` are replaced; others stay. */
  source: ExampleSource
  /** Of the shape and kind (bytes or float32) the dataset's other stored examples have. */
  examples: Examples
  /** The dataset's classes: every label must be below it. Default 256 (what a label byte holds). */
  classes?: number
  /** Written in the same transaction, e.g. which demo shard this is. */
  setting?: SettingRecord
  now?: number
}

/**
 * Replaces the examples of one source in one dataset, in one transaction: either every old
 * one is gone and every new one stored, or (on any failure, quota included) nothing changed.
 * Returns how many were stored.
 */
export async function replaceExamples(
  db: PollenDatabase,
  { dataset, source, examples, classes, setting, now = Date.now() }: ReplaceOptions,
): Promise<number> {
  assertExamples(examples, `examples for '${dataset}'`, classes)
  const tx = db.transaction([STORES.examples, STORES.settings], 'readwrite')
  const store = tx.objectStore(STORES.examples)
  const pending: Promise<unknown>[] = []
  try {
    await assertFits(store.index(INDEXES.byDataset), dataset, examples, source)
    const old = await store
      .index(INDEXES.byDatasetSource)
      .getAllKeys(IDBKeyRange.only([dataset, source]))
    for (const key of old) pending.push(store.delete(key))
    // Queue every write without awaiting each; the transaction commits when they are done.
    const record = recordOf(dataset, source, examples, now)
    for (let i = 0; i < examples.count; i++) pending.push(store.add(record(i)))
    if (setting) pending.push(tx.objectStore(STORES.settings).put(setting))
  } catch (error) {
    abortQuietly(tx, pending)
    throw error
  }
  // A failed request aborts the transaction, and so undoes every other write in it.
  await Promise.all([...pending, tx.done])
  return examples.count
}

export interface AddOptions {
  dataset: string
  source: ExampleSource
  /** Of the shape and kind (bytes or float32) the dataset's stored examples have, if any. */
  examples: Examples
  /** The dataset's classes: every label must be below it. Default 256 (what a label byte holds). */
  classes?: number
  now?: number
}

/**
 * Adds examples (drawn, photographed or imported by the owner) beside what is stored, in one
 * transaction: all are stored or, on any failure, none. The first examples of a dataset set its
 * shape; later ones of another shape are refused. Returns how many were stored.
 */
export async function addExamples(
  db: PollenDatabase,
  { dataset, source, examples, classes, now = Date.now() }: AddOptions,
): Promise<number> {
  assertExamples(examples, `examples for '${dataset}'`, classes)
  const tx = db.transaction(STORES.examples, 'readwrite')
  const pending: Promise<unknown>[] = []
  try {
    await assertFits(tx.store.index(INDEXES.byDataset), dataset, examples)
    const record = recordOf(dataset, source, examples, now)
    for (let i = 0; i < examples.count; i++) pending.push(tx.store.add(record(i)))
  } catch (error) {
    abortQuietly(tx, pending)
    throw error
  }
  await Promise.all([...pending, tx.done])
  return examples.count
}

/** Example i of `examples` as a record, with its own copy of its features. */
function recordOf(
  dataset: string,
  source: ExampleSource,
  examples: Examples,
  now: number,
): (i: number) => ExampleRecord {
  const size = shapeSize(examples.shape)
  return (i) => ({
    dataset,
    label: examples.labels[i]!,
    shape: [...examples.shape],
    features: examples.features.slice(i * size, (i + 1) * size),
    source,
    addedAt: now,
  })
}

const kindOf = (features: Uint8Array | Float32Array) =>
  features instanceof Float32Array ? 'float32 values' : 'bytes'

/**
 * Throws unless `examples` have the shape and kind of features of what `dataset` holds (apart
 * from `except`'s records, about to be replaced): a dataset's examples train one model.
 */
async function assertFits<Tx extends StoreNames<PollenDB>[]>(
  index: IDBPIndex<PollenDB, Tx, 'examples', 'by-dataset', 'readwrite'>,
  dataset: string,
  examples: Examples,
  except?: ExampleSource,
): Promise<void> {
  let cursor = await index.openCursor(IDBKeyRange.only(dataset))
  while (cursor && cursor.value.source === except) cursor = await cursor.continue()
  if (!cursor) return
  const held = cursor.value
  if (
    !sameShape(held.shape, examples.shape) ||
    kindOf(held.features) !== kindOf(examples.features)
  ) {
    throw new RangeError(
      `dataset '${dataset}' holds examples of shape ${formatShape(held.shape)} ` +
        `(${kindOf(held.features)}); these are ${formatShape(examples.shape)} ` +
        `(${kindOf(examples.features)})`,
    )
  }
}

/** Aborts a transaction that may already have finished or aborted itself. */
function abortQuietly(tx: { abort(): void; done: Promise<void> }, pending: Promise<unknown>[]) {
  for (const p of [tx.done, ...pending]) p.catch(() => {})
  try {
    tx.abort()
  } catch {
    // already finished
  }
}

/** Counts per label 0..classes-1 of one dataset, read through the [dataset, label] index. */
export async function labelCounts(
  db: PollenDatabase,
  dataset: string,
  classes: number,
): Promise<number[]> {
  const tx = db.transaction(STORES.examples)
  const index = tx.store.index(INDEXES.byDatasetLabel)
  const counts = await Promise.all(
    Array.from({ length: classes }, (_, label) => index.count(IDBKeyRange.only([dataset, label]))),
  )
  await tx.done
  return counts
}

/** What one dataset's stored examples come to: never the examples themselves. */
export interface DatasetCounts {
  examples: number
  /** Examples per label (index = label), as long as the highest stored label needs. */
  labels: number[]
  /** One example's shape. */
  shape: number[]
}

/**
 * Counts per class of every dataset with examples stored, by dataset name. Walks the distinct
 * [dataset, label] keys of the index (one step per pair, not per example) and counts each.
 */
export async function countsByDataset(db: PollenDatabase): Promise<Map<string, DatasetCounts>> {
  const tx = db.transaction(STORES.examples)
  const index = tx.store.index(INDEXES.byDatasetLabel)
  const pairs: [string, number][] = []
  for (
    let cursor = await index.openKeyCursor(null, 'nextunique');
    cursor;
    cursor = await cursor.continue()
  ) {
    pairs.push(cursor.key)
  }
  const [counts, firsts] = await Promise.all([
    Promise.all(pairs.map((key) => index.count(IDBKeyRange.only(key)))),
    Promise.all(
      [...new Set(pairs.map(([dataset]) => dataset))].map((dataset) =>
        tx.store.index(INDEXES.byDataset).get(dataset),
      ),
    ),
  ])
  await tx.done
  const out = new Map<string, DatasetCounts>()
  for (const first of firsts) {
    if (first) out.set(first.dataset, { examples: 0, labels: [], shape: first.shape })
  }
  pairs.forEach(([dataset, label], i) => {
    const entry = out.get(dataset)!
    while (entry.labels.length <= label) entry.labels.push(0)
    entry.labels[label] = counts[i]!
    entry.examples += counts[i]!
  })
  return out
}

/**
 * Every example of one dataset, in the order stored, as the training core takes them. Throws,
 * naming the dataset and both shapes, when its records disagree (nothing stored through this
 * module does): mixed examples are not trained on.
 */
export async function readExamples(db: PollenDatabase, dataset: string): Promise<Examples> {
  const records = await db.getAllFromIndex(STORES.examples, INDEXES.byDataset, dataset)
  const first = records[0]
  if (!first)
    return { count: 0, shape: [1], features: new Uint8Array(0), labels: new Uint8Array(0) }
  const { shape } = first
  const size = shapeSize(shape)
  const features =
    first.features instanceof Float32Array
      ? new Float32Array(records.length * size)
      : new Uint8Array(records.length * size)
  const labels = new Uint8Array(records.length)
  records.forEach((r, i) => {
    if (!sameShape(r.shape, shape) || kindOf(r.features) !== kindOf(features)) {
      throw new RangeError(
        `dataset '${dataset}': example ${r.id} has shape ${formatShape(r.shape)} ` +
          `(${kindOf(r.features)}), the first ${formatShape(shape)} (${kindOf(features)})`,
      )
    }
    features.set(r.features, i * size)
    labels[i] = r.label
  })
  return { count: records.length, shape: [...shape], features, labels }
}

/**
 * Deletes one dataset's examples, the training checkpoints, top-k residuals and unsent updates of
 * the tasks that train on it, and the demo record if the demo was this dataset, in one transaction. Other
 * datasets, consent and history stay. Returns how many examples were deleted.
 */
export async function deleteDataset(db: PollenDatabase, dataset: string): Promise<number> {
  const tx = db.transaction(
    [
      STORES.examples,
      STORES.checkpoints,
      STORES.residuals,
      STORES.uploads,
      STORES.settings,
      STORES.consent,
    ],
    'readwrite',
  )
  const examples = tx.objectStore(STORES.examples)
  const [keys, checkpoints, uploads, consents, demo] = await Promise.all([
    examples.index(INDEXES.byDataset).getAllKeys(IDBKeyRange.only(dataset)),
    tx.objectStore(STORES.checkpoints).getAll(),
    tx.objectStore(STORES.uploads).getAll(),
    tx.objectStore(STORES.consent).getAll(),
    tx.objectStore(STORES.settings).get('demo'),
  ])
  // The tasks on this dataset: by the owner's consent, or by a checkpoint's assignment.
  const tasks = new Set([
    ...consents.filter((c) => c.dataset === dataset).map((c) => c.taskId),
    ...checkpoints.filter((c) => c.assignment.dataset === dataset).map((c) => c.taskId),
  ])
  await Promise.all([
    ...keys.map((key) => examples.delete(key)),
    ...checkpoints
      .filter((c) => tasks.has(c.taskId))
      .map((c) => tx.objectStore(STORES.checkpoints).delete(c.taskId)),
    ...[...tasks].map((taskId) => tx.objectStore(STORES.residuals).delete(taskId)),
    ...uploads
      .filter((u) => tasks.has(u.taskId))
      .map((u) => tx.objectStore(STORES.uploads).delete(u.key)),
    ...(demo?.key === 'demo' && demo.dataset === dataset
      ? [tx.objectStore(STORES.settings).delete('demo')]
      : []),
    tx.done,
  ])
  return keys.length
}

/**
 * "Delete my data": every example of every dataset, the training checkpoints, top-k residuals and
 * unsent updates made from them, and the record of which demo shard was loaded, in one transaction. Returns how
 * many examples were deleted.
 */
export async function deleteAllExamples(db: PollenDatabase): Promise<number> {
  const tx = db.transaction(
    [STORES.examples, STORES.checkpoints, STORES.residuals, STORES.uploads, STORES.settings],
    'readwrite',
  )
  const count = await tx.objectStore(STORES.examples).count()
  await Promise.all([
    tx.objectStore(STORES.examples).clear(),
    tx.objectStore(STORES.checkpoints).clear(),
    tx.objectStore(STORES.residuals).clear(),
    tx.objectStore(STORES.uploads).clear(),
    tx.objectStore(STORES.settings).delete('demo'),
    tx.done,
  ])
  return count
}
