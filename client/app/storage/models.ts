// The phone's models store: the models training downloads (so a reload does not download them
// again) and those "try the model" keeps (so trying works offline). Both write through
// `storeModel`, so one retention policy decides what stays.
import { BASE_PREFIX, type ModelStore } from '../../device/models.ts'
import { type ModelRecord, type PollenDatabase, STORES } from './schema.ts'

/** Models kept beyond the ones a checkpoint needs; the older are deleted. */
export const MODELS_KEPT = 3

/**
 * The retention policy of the models store: which models to delete, newest (`latest`, the one
 * just stored) first.
 * - A model a checkpoint resumes from is kept (and counts among the newest).
 * - A task keeps one model for trying (one with a spec): its newest; the older are superseded.
 * - Of the rest, those among the `kept` newest stay.
 * - A task's base (keyed `baseKey(taskId)`, what model deltas are asked from) is counted apart: the
 *   `kept` newest bases stay, so a delta's base is not pushed out by the models it rebuilt.
 */
export function modelsToDrop(
  models: readonly ModelRecord[],
  {
    needed,
    latest,
    kept = MODELS_KEPT,
  }: { needed: ReadonlySet<string>; latest: string; kept?: number },
): string[] {
  const newestFirst = [...models].sort(
    (a, b) => Number(b.hash === latest) - Number(a.hash === latest) || b.storedAt - a.storedAt,
  )
  const tried = new Set<string>()
  const drop: string[] = []
  let staying = 0
  let bases = 0
  for (const model of newestFirst) {
    if (model.hash.startsWith(BASE_PREFIX)) {
      if (++bases > kept) drop.push(model.hash)
      continue
    }
    const superseded = model.spec !== undefined && tried.has(model.taskId)
    if (model.spec !== undefined) tried.add(model.taskId)
    // A needed model stays, and takes its place among the newest.
    if (!needed.has(model.hash) && (superseded || staying >= kept)) drop.push(model.hash)
    else staying += 1
  }
  return drop
}

/** Stores a model and applies the retention policy, in one transaction. */
export async function storeModel(db: PollenDatabase, record: ModelRecord): Promise<void> {
  const tx = db.transaction([STORES.models, STORES.checkpoints], 'readwrite')
  const models = tx.objectStore(STORES.models)
  const [stored, checkpoints] = await Promise.all([
    models.getAll(),
    tx.objectStore(STORES.checkpoints).getAll(),
  ])
  const all = [...stored.filter((m) => m.hash !== record.hash), record]
  const needed = new Set(checkpoints.map((c) => c.assignment.model.hash))
  const drop = modelsToDrop(all, { needed, latest: record.hash })
  await Promise.all([models.put(record), ...drop.map((hash) => models.delete(hash)), tx.done])
}

/** The device pipeline's model store, in the phone's IndexedDB: models survive a reload. */
export function indexedDbModels(db: PollenDatabase, now = Date.now): ModelStore {
  return {
    async get(hash) {
      const record = await db.get(STORES.models, hash)
      return record ? new Uint8Array(record.bytes) : undefined
    },
    put: (hash, bytes, taskId) =>
      storeModel(db, { hash, bytes: bytes.slice().buffer, taskId, storedAt: now() }),
  }
}
