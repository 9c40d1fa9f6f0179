import type { TrainCheckpoint } from '../../../shared/training/index.ts'
import { uploadKey } from '../outbox/index.ts'
import { type CheckpointRecord, type PollenDatabase, STORES } from '../storage/index.ts'

export type { TrainCheckpoint }

/** A checkpoint is not worth resuming this close to its round's deadline. */
export const RESUME_MARGIN_MS = 5_000

/** A checkpoint every tenth of the round's steps, and not more often than every 5 steps. */
export const checkpointEvery = (totalSteps: number) => Math.max(5, Math.ceil(totalSteps / 10))

/**
 * Stores a checkpoint while its task is still consented to, in one transaction with that check:
 * a checkpoint the worker sent just before a withdrawal must not land after the withdrawal
 * deleted the task's checkpoint. Returns whether it was stored.
 */
export async function saveCheckpoint(
  db: PollenDatabase,
  record: CheckpointRecord,
): Promise<boolean> {
  const tx = db.transaction([STORES.consent, STORES.checkpoints], 'readwrite')
  const consented = (await tx.objectStore(STORES.consent).get(record.taskId)) !== undefined
  if (consented) await tx.objectStore(STORES.checkpoints).put(record)
  await tx.done
  return consented
}

export interface ResumeQuery {
  /** Tasks that may train now (consented, conditions hold). */
  ready: ReadonlySet<string>
  /** Examples stored now, per dataset. */
  exampleCount: (dataset: string) => Promise<number>
  now: number
}

/**
 * The checkpoint to carry on from, if one is still good: its task may train now, its deadline
 * is not about to pass, and the examples it trained on are still the ones stored. Checkpoints
 * past their deadline, or over changed examples, are deleted.
 */
export async function findResumable(
  db: PollenDatabase,
  { ready, exampleCount, now }: ResumeQuery,
): Promise<CheckpointRecord | undefined> {
  let found: CheckpointRecord | undefined
  for (const record of await db.getAll(STORES.checkpoints)) {
    const deadline = Date.parse(record.assignment.deadline)
    const stale =
      !(deadline - now > RESUME_MARGIN_MS) ||
      record.exampleCount !== (await exampleCount(record.assignment.dataset))
    if (stale) await db.delete(STORES.checkpoints, record.taskId)
    else if (!found && ready.has(record.taskId)) found = record
  }
  return found
}

export function deleteCheckpoint(db: PollenDatabase, taskId: string): Promise<void> {
  return db.delete(STORES.checkpoints, taskId)
}

export { uploadKey }
