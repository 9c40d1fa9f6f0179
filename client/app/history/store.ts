import { type HistoryRecord, type PollenDatabase, STORES } from '../storage/index.ts'

/** Adds one round to the contribution history; returns its id. */
export function recordRound(db: PollenDatabase, record: HistoryRecord): Promise<number> {
  return db.add(STORES.history, record)
}

/** The contribution history, newest first. */
export async function listHistory(db: PollenDatabase): Promise<HistoryRecord[]> {
  return (await db.getAll(STORES.history)).sort(
    (a, b) => b.finishedAt - a.finishedAt || (b.id ?? 0) - (a.id ?? 0),
  )
}
