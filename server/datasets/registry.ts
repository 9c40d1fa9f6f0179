import {
  DatasetSpecSchema,
  exampleShape,
  type DatasetPatch,
  type DatasetSpec,
} from '../../shared/protocol/index.ts'
import type { BlobStore } from '../blobs/index.ts'
import type { Clock } from '../clock/index.ts'
import { PollenError } from '../errors.ts'
import type { DatasetRecord, HeldOutRecord, Store } from '../store/index.ts'
import { classHistogram, decodeHeldOut, encodeHeldOut, type HeldOutExamples } from './blob.ts'

/** What the round engine asks of datasets, synchronously: a task's classes, its held-out set. */
export interface DatasetDirectory {
  spec(name: string): DatasetSpec | undefined
  heldOut(name: string): HeldOutRecord | null
}

export interface DatasetsOptions {
  store: Store
  blobs: BlobStore
  clock: Clock
  /** Held-out sets decoded and kept in memory, by hash (the most recently used). */
  cacheSize?: number
}

/**
 * The declared datasets: kept in the store, mirrored in memory (one coordinator per data dir,
 * so the mirror is the truth once loaded) for the round engine's synchronous questions. Changes
 * run one at a time, so an upload and a delete of the same dataset cannot interleave.
 */
export function createDatasets({ store, blobs, clock, cacheSize = 4 }: DatasetsOptions) {
  const records = new Map<string, DatasetRecord>()
  const decoded = new Map<string, HeldOutExamples>()
  let serial: Promise<unknown> = Promise.resolve()
  const one = <T>(change: () => Promise<T>): Promise<T> => {
    const run = serial.then(change)
    serial = run.catch(() => undefined)
    return run
  }

  function get(name: string): DatasetRecord {
    const record = records.get(name)
    if (!record)
      throw new PollenError(
        'not_found',
        `no dataset ${name.slice(0, 100)}: declare it with POST /api/v1/datasets`,
        'name',
      )
    return record
  }

  function remember(hash: string, examples: HeldOutExamples) {
    decoded.delete(hash)
    decoded.set(hash, examples)
    while (decoded.size > cacheSize) decoded.delete(decoded.keys().next().value!)
  }

  /** Removes a held-out blob once no dataset refers to it (two may hold the same bytes). */
  async function release(hash: string) {
    if ([...records.values()].some((r) => r.heldOut?.hash === hash)) return
    decoded.delete(hash)
    await blobs.delete?.(hash)
  }

  /** Stores the set as its blob, then points the row at it: a failure leaves the old one. */
  async function storeHeldOut(name: string, examples: HeldOutExamples): Promise<DatasetRecord> {
    const record = get(name)
    // Read against the spec of the moment: one deleted and declared anew meanwhile may differ.
    const misfit = heldOutMisfit(record, examples)
    if (misfit) throw new PollenError('conflict', misfit, 'name')
    const hash = await blobs.put(encodeHeldOut(examples))
    const now = clock.now()
    const heldOut: HeldOutRecord = {
      hash,
      examples: examples.count,
      labels: classHistogram(examples.labels, record.spec.classes.length),
      uploadedAt: now,
    }
    await store.updateDataset(name, { heldOut, updatedAt: now })
    const previous = record.heldOut?.hash
    const next = { ...record, heldOut, updatedAt: now }
    records.set(name, next)
    remember(hash, examples)
    if (previous && previous !== hash) await release(previous)
    return next
  }

  return {
    /** Loads the declared datasets; declares each built-in one that is absent, with its set. */
    async start(builtIn: { spec: DatasetSpec; heldOut?: HeldOutExamples }[] = []) {
      for (const record of await store.listDatasets()) records.set(record.name, record)
      for (const { spec, heldOut } of builtIn) {
        if (records.has(spec.name)) continue
        // Replicas starting together: another may declare it first (its held-out set the same).
        const theirs = await this.create(spec).then(() => null, takeTheirs(store, records, spec))
        if (heldOut && !theirs?.heldOut) await this.setHeldOut(spec.name, heldOut)
      }
    },
    spec: (name: string) => records.get(name)?.spec,
    heldOut: (name: string) => records.get(name)?.heldOut ?? null,
    get,
    list: () => [...records.values()],

    create: (input: DatasetSpec) =>
      one(async () => {
        const spec = DatasetSpecSchema.parse(input)
        if (records.has(spec.name))
          throw new PollenError(
            'conflict',
            `dataset ${spec.name} exists: PATCH it, or DELETE it first`,
            'name',
          )
        const now = clock.now()
        const record: DatasetRecord = {
          name: spec.name,
          spec,
          createdAt: now,
          updatedAt: now,
          heldOut: null,
        }
        await store.insertDataset(record)
        records.set(spec.name, record)
        return record
      }),

    patch: (name: string, patch: DatasetPatch) =>
      one(async () => {
        const record = get(name)
        const spec = DatasetSpecSchema.parse({ ...record.spec, ...patch })
        const now = clock.now()
        await store.updateDataset(name, { spec, updatedAt: now })
        const next = { ...record, spec, updatedAt: now }
        records.set(name, next)
        return next
      }),

    /** `usedBy`: the tasks that train on it now (checked inside the change, so none slips in). */
    remove: (name: string, usedBy: () => string[]) =>
      one(async () => {
        const record = get(name)
        const tasks = usedBy()
        if (tasks.length > 0)
          throw new PollenError(
            'conflict',
            `dataset ${name} is used by ${tasks.length} task(s) (${tasks.slice(0, 5).join(', ')}): delete them first`,
            'name',
          )
        await store.deleteDataset(name)
        records.delete(name)
        if (record.heldOut) await release(record.heldOut.hash)
      }),

    setHeldOut: (name: string, examples: HeldOutExamples) =>
      one(() => storeHeldOut(name, examples)),

    clearHeldOut: (name: string) =>
      one(async () => {
        const record = get(name)
        if (!record.heldOut)
          throw new PollenError('not_found', `dataset ${name} has no held-out set`, 'name')
        const now = clock.now()
        await store.updateDataset(name, { heldOut: null, updatedAt: now })
        records.set(name, { ...record, heldOut: null, updatedAt: now })
        await release(record.heldOut.hash)
      }),

    /** The dataset's held-out examples, decoded once per blob; undefined without a set. */
    async examples(name: string): Promise<HeldOutExamples | undefined> {
      const heldOut = records.get(name)?.heldOut
      if (!heldOut) return undefined
      const cached = decoded.get(heldOut.hash)
      if (cached) return cached
      const bytes = await blobs.get(heldOut.hash)
      if (!bytes) throw new Error(`the held-out set of ${name} (blob ${heldOut.hash}) is missing`)
      const examples = decodeHeldOut(bytes)
      remember(heldOut.hash, examples)
      return examples
    },
  }
}

export type Datasets = ReturnType<typeof createDatasets>

/** Why `examples` cannot be the dataset's held-out set as it is declared now, or null. */
function heldOutMisfit({ name, spec }: DatasetRecord, examples: HeldOutExamples): string | null {
  const shape = exampleShape(spec.features)
  const classes = spec.classes.length
  if (examples.shape.join() === shape.join() && examples.labels.every((l) => l < classes))
    return null
  return `dataset ${name} changed while its held-out set was read (it takes [${shape.join(', ')}] in ${classes} classes): upload it again`
}

/** A failed declaration: the record another replica stored, kept here; or the error again. */
const takeTheirs =
  (store: Store, records: Map<string, DatasetRecord>, { name }: DatasetSpec) =>
  async (error: unknown) => {
    const theirs = await store.getDataset(name)
    if (!theirs) throw error
    records.set(name, theirs)
    return theirs
  }
