import type { Backend } from '../../../shared/protocol/index.ts'
import { type PollenDatabase, type SpeedRecord, STORES } from './schema.ts'

/** The speed last measured on `backend`, if any. */
export function loadSpeed(db: PollenDatabase, backend: Backend): Promise<SpeedRecord | undefined> {
  return db.get(STORES.speed, backend)
}

/** Keeps a measurement, in place of the last one on its backend. */
export async function saveSpeed(db: PollenDatabase, record: SpeedRecord): Promise<void> {
  await db.put(STORES.speed, record)
}
