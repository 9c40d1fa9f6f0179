import {
  assertExamples,
  type Examples,
  NUM_LABELS,
  PIXELS_PER_EXAMPLE,
} from '../../../shared/data/index.ts'
import {
  type ExampleRecord,
  type ExampleSource,
  INDEXES,
  type PollenDatabase,
  type SettingRecord,
  STORES,
} from './schema.ts'

export interface ReplaceOptions {
  dataset: string
  /** Examples from this source in `dataset` are replaced; others stay. */
  source: ExampleSource
  examples: Examples
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
  { dataset, source, examples, setting, now = Date.now() }: ReplaceOptions,
): Promise<number> {
  assertExamples(examples)
  const tx = db.transaction([STORES.examples, STORES.settings], 'readwrite')
  const store = tx.objectStore(STORES.examples)
  const pending: Promise<unknown>[] = []
  try {
    const old = await store
      .index(INDEXES.byDatasetSource)
      .getAllKeys(IDBKeyRange.only([dataset, source]))
    for (const key of old) pending.push(store.delete(key))
    // Queue every write without awaiting each; the transaction commits when they are done.
    for (let i = 0; i < examples.count; i++) {
      const record: ExampleRecord = {
        dataset,
        label: examples.labels[i]!,
        pixels: examples.pixels.slice(i * PIXELS_PER_EXAMPLE, (i + 1) * PIXELS_PER_EXAMPLE),
        source,
        addedAt: now,
      }
      pending.push(store.add(record))
    }
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
  examples: Examples
  now?: number
}

/**
 * Adds examples (drawn or imported by the owner) beside what is stored, in one transaction:
 * all are stored or, on any failure, none. Returns how many were stored.
 */
export async function addExamples(
  db: PollenDatabase,
  { dataset, source, examples, now = Date.now() }: AddOptions,
): Promise<number> {
  assertExamples(examples)
  const tx = db.transaction(STORES.examples, 'readwrite')
  const pending: Promise<unknown>[] = []
  try {
    for (let i = 0; i < examples.count; i++) {
      const record: ExampleRecord = {
        dataset,
        label: examples.labels[i]!,
        pixels: examples.pixels.slice(i * PIXELS_PER_EXAMPLE, (i + 1) * PIXELS_PER_EXAMPLE),
        source,
        addedAt: now,
      }
      pending.push(tx.store.add(record))
    }
  } catch (error) {
    abortQuietly(tx, pending)
    throw error
  }
  await Promise.all([...pending, tx.done])
  return examples.count
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

/** Counts per label 0..9 of one dataset, read through the [dataset, label] index. */
export async function labelCounts(db: PollenDatabase, dataset: string): Promise<number[]> {
  const tx = db.transaction(STORES.examples)
  const index = tx.store.index(INDEXES.byDatasetLabel)
  const counts = await Promise.all(
    Array.from({ length: NUM_LABELS }, (_, label) =>
      index.count(IDBKeyRange.only([dataset, label])),
    ),
  )
  await tx.done
  return counts
}

/** Every example of one dataset, in the order stored, as the training core takes them. */
export async function readExamples(db: PollenDatabase, dataset: string): Promise<Examples> {
  const records = await db.getAllFromIndex(STORES.examples, INDEXES.byDataset, dataset)
  const pixels = new Uint8Array(records.length * PIXELS_PER_EXAMPLE)
  const labels = new Uint8Array(records.length)
  records.forEach((r, i) => {
    pixels.set(r.pixels, i * PIXELS_PER_EXAMPLE)
    labels[i] = r.label
  })
  return { count: records.length, pixels, labels }
}

/**
 * "Delete my data": every example of every dataset, the training checkpoints and unsent updates
 * made from them, and the record of which demo shard was loaded, in one transaction. Returns how many examples
 * were deleted.
 */
export async function deleteAllExamples(db: PollenDatabase): Promise<number> {
  const tx = db.transaction(
    [STORES.examples, STORES.checkpoints, STORES.uploads, STORES.settings],
    'readwrite',
  )
  const count = await tx.objectStore(STORES.examples).count()
  await Promise.all([
    tx.objectStore(STORES.examples).clear(),
    tx.objectStore(STORES.checkpoints).clear(),
    tx.objectStore(STORES.uploads).clear(),
    tx.objectStore(STORES.settings).delete('demo'),
    tx.done,
  ])
  return count
}
