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
import { classHistogram, encodeHeldOut, type HeldOutExamples } from './blob.ts'
import { decodedSets } from './decoded.ts'
import { datasetMirror, type SharedDatasets } from './mirror.ts'

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
  /** Replicas on one PostgreSQL database: other coordinators change the datasets too. */
  shared?: SharedDatasets | undefined
  log?: (message: string) => void
}

/**
 * The declared datasets: kept in the store, mirrored in memory (mirror.ts: how the mirror
 * follows the store, alone or on replicas) for the round engine's synchronous questions.
 * Changes run one at a time, each on the dataset as the store has it, so an upload and a
 * delete of the same dataset cannot interleave here.
 */
export function createDatasets(options: DatasetsOptions) {
  const { store, blobs, clock, cacheSize = 4 } = options
  const mirror = datasetMirror(options)
  const { records } = mirror
  const decoded = decodedSets(blobs, cacheSize)
  let serial: Promise<unknown> = Promise.resolve()
  const one = <T>(change: () => Promise<T>): Promise<T> => {
    const run = serial.then(change)
    serial = run.catch(() => undefined)
    return run
  }

  const get = (name: string): DatasetRecord => records.get(name) ?? notDeclared(name)
  /** The dataset as the store has it now (on replicas, another may have changed it). */
  const fresh = async (name: string) => {
    await mirror.refresh(name)
    return get(name)
  }

  /** Removes a held-out blob once no dataset refers to it (two may hold the same bytes). */
  async function release(hash: string) {
    if (await mirror.holds(hash)) return
    decoded.forget(hash)
    await blobs.delete?.(hash)
  }

  /** Stores the set as its blob, then points the row at it: a failure leaves the old one. */
  async function storeHeldOut(name: string, examples: HeldOutExamples): Promise<DatasetRecord> {
    const record = await fresh(name)
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
    decoded.remember(hash, examples)
    if (previous && previous !== hash) await release(previous)
    return next
  }

  return {
    /** Loads the declared datasets; declares each built-in one that is absent, with its set. */
    async start(builtIn: { spec: DatasetSpec; heldOut?: HeldOutExamples }[] = []) {
      await mirror.start()
      for (const { spec, heldOut } of builtIn) {
        if (records.has(spec.name)) continue
        // Replicas starting together: another may declare it first (its held-out set the same).
        const theirs = await this.create(spec).then(() => null, takeTheirs(store, records, spec))
        if (heldOut && !theirs?.heldOut) await this.setHeldOut(spec.name, heldOut)
      }
    },
    spec: (name: string) => records.get(name)?.spec,
    heldOut: (name: string) => records.get(name)?.heldOut ?? null,
    stop: mirror.stop,
    get,
    fresh,
    /** The dataset as the store has it now (alone: as held here), or undefined. */
    current: mirror.refresh,
    /** Held here, or else (replicas) read from the store before answering that there is none. */
    lookup: mirror.lookup,
    /** Every dataset: on replicas, as the store has them now. */
    async list() {
      await mirror.sync()
      return [...records.values()]
    },

    create: (input: DatasetSpec) =>
      one(async () => {
        const spec = DatasetSpecSchema.parse(input)
        if (await mirror.refresh(spec.name)) throw exists(spec.name)
        const now = clock.now()
        const record: DatasetRecord = {
          name: spec.name,
          spec,
          createdAt: now,
          updatedAt: now,
          heldOut: null,
        }
        // Another replica may declare the name between the read and the insert.
        await store.insertDataset(record).catch(async (error: unknown) => {
          throw (await mirror.refresh(spec.name)) ? exists(spec.name) : error
        })
        records.set(spec.name, record)
        return record
      }),

    patch: (name: string, patch: DatasetPatch) =>
      one(async () => {
        const record = await fresh(name)
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
        const record = await fresh(name)
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
        const record = await fresh(name)
        if (!record.heldOut)
          throw new PollenError('not_found', `dataset ${name} has no held-out set`, 'name')
        const now = clock.now()
        await store.updateDataset(name, { heldOut: null, updatedAt: now })
        records.set(name, { ...record, heldOut: null, updatedAt: now })
        await release(record.heldOut.hash)
      }),

    /**
     * The dataset's held-out examples, decoded once per blob; undefined without a set. On
     * replicas the set of the moment: one uploaded on another replica is what evaluation uses.
     */
    async examples(name: string): Promise<HeldOutExamples | undefined> {
      const heldOut = (await mirror.refresh(name))?.heldOut
      return heldOut ? decoded.read(name, heldOut) : undefined
    },
  }
}

export type Datasets = ReturnType<typeof createDatasets>

function notDeclared(name: string): never {
  throw new PollenError(
    'not_found',
    `no dataset ${name.slice(0, 100)}: declare it with POST /api/v1/datasets`,
    'name',
  )
}

const exists = (name: string) =>
  new PollenError('conflict', `dataset ${name} exists: PATCH it, or DELETE it first`, 'name')

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
