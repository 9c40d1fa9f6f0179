// The datasets this phone has been offered, remembered so that the data screen can show and
// delete their examples when the coordinator is out of reach or no longer lists their task.
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import { type PollenDatabase, STORES } from './schema.ts'

/** Datasets remembered at most: the newest offered first, the oldest forgotten past this. */
export const MAX_REMEMBERED = 100

/**
 * Remembers `specs` (the coordinator's latest word on each) before the ones remembered already,
 * in one write. Returns what is remembered now.
 */
export async function rememberDatasets(
  db: PollenDatabase,
  specs: readonly DatasetSpec[],
  now = Date.now(),
): Promise<DatasetSpec[]> {
  const tx = db.transaction(STORES.settings, 'readwrite')
  const record = await tx.store.get('datasets')
  const old = record?.key === 'datasets' ? record.specs : []
  const fresh = new Set(specs.map((s) => s.name))
  const merged = [...specs, ...old.filter((s) => !fresh.has(s.name))].slice(0, MAX_REMEMBERED)
  await Promise.all([tx.store.put({ key: 'datasets', specs: merged, updatedAt: now }), tx.done])
  return merged
}

/**
 * The datasets remembered, newest offered first. They were checked when the coordinator's task
 * list was read (client/device parses it), so they are taken as stored.
 */
export async function rememberedDatasets(db: PollenDatabase): Promise<DatasetSpec[]> {
  const record = await db.get(STORES.settings, 'datasets')
  return record?.key === 'datasets' ? record.specs : []
}
