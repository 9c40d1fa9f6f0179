import { afterContribution } from '../privacy/contribution.ts'
import { type HistoryRecord, type PollenDatabase, STORES } from '../storage/index.ts'

/**
 * Adds one round to the contribution history and, for an update the coordinator accepted, counts
 * it in the privacy ledger, in one transaction; `removeUpload` also drops the outbox entry the
 * round came from. Returns the history record's id.
 */
export async function recordRound(
  db: PollenDatabase,
  record: HistoryRecord,
  { removeUpload }: { removeUpload?: string } = {},
): Promise<number> {
  const tx = db.transaction([STORES.uploads, STORES.history, STORES.ledger], 'readwrite')
  const ledger = tx.objectStore(STORES.ledger)
  const { taskId, taskName, finishedAt } = record
  const [, id] = await Promise.all([
    removeUpload === undefined ? undefined : tx.objectStore(STORES.uploads).delete(removeUpload),
    tx.objectStore(STORES.history).add(record),
    record.outcome === 'accepted'
      ? ledger
          .get(taskId)
          .then((entry) => ledger.put(afterContribution(entry, taskId, finishedAt, taskName)))
      : undefined,
    tx.done,
  ])
  return id
}

/** The contribution history, newest first. */
export async function listHistory(db: PollenDatabase): Promise<HistoryRecord[]> {
  return (await db.getAll(STORES.history)).sort(
    (a, b) => b.finishedAt - a.finishedAt || (b.id ?? 0) - (a.id ?? 0),
  )
}
