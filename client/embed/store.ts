// What the embeddable client keeps in the web app's browser: its examples by dataset, and per
// coordinator its enrolment and the tasks the user agreed to. A database of its own
// (`pollen-embed`), so that on the origin that also serves the phone app the two never meet:
// the PWA's `pollen` database has a schema and migrations of its own.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import { sameShape, shapeSize, type Examples } from '../../shared/data/index.ts'

export const EMBED_DB = 'pollen-embed'

/** Store names, defined once. */
export const STORES = { batches: 'batches', settings: 'settings' } as const
const BY_DATASET = 'by-dataset'

/** One `addExamples` call's examples, kept together (one record, not thousands). */
export interface BatchRecord {
  id?: number
  dataset: string
  /** One example's shape when stored: a batch of another shape is never trained on. */
  shape: number[]
  features: Uint8Array | Float32Array
  labels: Uint8Array
  count: number
  addedAt: number
}

export interface Enrolment {
  deviceId: string
  token: string
}

interface EmbedSchema extends DBSchema {
  batches: { key: number; value: BatchRecord; indexes: { 'by-dataset': string } }
  /** `enrolment <coordinator>` → Enrolment; `consents <coordinator>` → task ids. */
  settings: { key: string; value: Enrolment | string[] }
}

export type EmbedDatabase = IDBPDatabase<EmbedSchema>

export function openEmbedDb(name = EMBED_DB): Promise<EmbedDatabase> {
  return openDB<EmbedSchema>(name, 1, {
    upgrade(db) {
      const batches = db.createObjectStore(STORES.batches, { keyPath: 'id', autoIncrement: true })
      batches.createIndex(BY_DATASET, 'dataset')
      db.createObjectStore(STORES.settings)
    },
  })
}

export async function addBatch(
  db: EmbedDatabase,
  dataset: string,
  examples: Examples,
  now = Date.now(),
): Promise<void> {
  await db.add(STORES.batches, {
    dataset,
    shape: examples.shape,
    features: examples.features,
    labels: examples.labels,
    count: examples.count,
    addedAt: now,
  })
}

/** Examples of `dataset` held in stored batches of `shape` (others, of an older declaration, are skipped). */
export async function batchesOf(db: EmbedDatabase, dataset: string, shape: number[]) {
  const batches = await db.getAllFromIndex(STORES.batches, BY_DATASET, dataset)
  return batches.filter((b) => sameShape(b.shape, shape))
}

/** Every stored example of `dataset` in `shape`, as one Examples (what a round trains on). */
export async function loadExamples(
  db: EmbedDatabase,
  dataset: string,
  shape: number[],
  kind: 'image' | 'tabular',
): Promise<Examples> {
  const batches = await batchesOf(db, dataset, shape)
  const size = shapeSize(shape)
  const count = batches.reduce((n, b) => n + b.count, 0)
  const features = kind === 'image' ? new Uint8Array(count * size) : new Float32Array(count * size)
  const labels = new Uint8Array(count)
  let at = 0
  for (const b of batches) {
    if (b.features.length !== b.count * size || b.labels.length !== b.count) continue
    features.set(b.features, at * size)
    labels.set(b.labels, at)
    at += b.count
  }
  return {
    count: at,
    shape,
    features: features.subarray(0, at * size),
    labels: labels.subarray(0, at),
  }
}

/** Examples per class (index = label) of `dataset` in `shape`. */
export async function classCounts(
  db: EmbedDatabase,
  dataset: string,
  shape: number[],
  classes: number,
): Promise<number[]> {
  const counts = new Array<number>(classes).fill(0)
  for (const b of await batchesOf(db, dataset, shape))
    for (const label of b.labels) if (label < classes) counts[label]! += 1
  return counts
}

/** Deletes every example of `dataset`; answers how many went. */
export async function deleteDataset(db: EmbedDatabase, dataset: string): Promise<number> {
  const tx = db.transaction(STORES.batches, 'readwrite')
  let deleted = 0
  for await (const cursor of tx.store.index(BY_DATASET).iterate(dataset)) {
    deleted += cursor.value.count
    await cursor.delete()
  }
  await tx.done
  return deleted
}

const enrolmentKey = (coordinator: string) => `enrolment ${coordinator}`
const consentsKey = (coordinator: string) => `consents ${coordinator}`

export async function loadEnrolment(db: EmbedDatabase, coordinator: string) {
  const value = await db.get(STORES.settings, enrolmentKey(coordinator))
  return value && !Array.isArray(value) ? value : undefined
}

export const saveEnrolment = (db: EmbedDatabase, coordinator: string, enrolment: Enrolment) =>
  db.put(
    STORES.settings,
    { deviceId: enrolment.deviceId, token: enrolment.token },
    enrolmentKey(coordinator),
  )

export const clearEnrolment = (db: EmbedDatabase, coordinator: string) =>
  db.delete(STORES.settings, enrolmentKey(coordinator))

/** The tasks of `coordinator` the user agreed to. */
export async function loadConsents(db: EmbedDatabase, coordinator: string): Promise<string[]> {
  const value = await db.get(STORES.settings, consentsKey(coordinator))
  return Array.isArray(value) ? value : []
}

/** Adds or removes one task's consent, in one transaction (two tabs do not lose each other's). */
export async function setConsent(
  db: EmbedDatabase,
  coordinator: string,
  taskId: string,
  agreed: boolean,
): Promise<string[]> {
  const tx = db.transaction(STORES.settings, 'readwrite')
  const value = await tx.store.get(consentsKey(coordinator))
  const ids = new Set(Array.isArray(value) ? value : [])
  if (agreed) ids.add(taskId)
  else ids.delete(taskId)
  const next = [...ids]
  await tx.store.put(next, consentsKey(coordinator))
  await tx.done
  return next
}
