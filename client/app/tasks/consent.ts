import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import {
  type ConsentRecord,
  type PollenDatabase,
  STORES,
  type TrainingConditions,
} from '../storage/index.ts'
import { NO_CONDITIONS } from './conditions.ts'

export interface ConsentStoreOptions {
  db: PollenDatabase
  now?: () => number
}

/**
 * The owner's decisions, per task, kept in the consent store: join (with the purpose agreed
 * to), pause, resume, withdraw (the record is deleted), and the conditions on training.
 * Listeners hear of every change, so the contribute loop stops work a withdrawal forbids.
 */
export function createConsentStore({ db, now = Date.now }: ConsentStoreOptions) {
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((listener) => listener())

  async function update(
    taskId: string,
    change: (record: ConsentRecord) => ConsentRecord,
  ): Promise<ConsentRecord | undefined> {
    const tx = db.transaction(STORES.consent, 'readwrite')
    const record = await tx.store.get(taskId)
    if (!record) {
      await tx.done
      return undefined
    }
    const next = change(record)
    await Promise.all([tx.store.put(next), tx.done])
    changed()
    return next
  }

  return {
    list: (): Promise<ConsentRecord[]> => db.getAll(STORES.consent),
    get: (taskId: string): Promise<ConsentRecord | undefined> => db.get(STORES.consent, taskId),
    /** The tasks this phone may be given now, as a check-in names them. */
    async granted(): Promise<ConsentRecord[]> {
      return (await db.getAll(STORES.consent)).filter((c) => c.state === 'granted')
    },
    /**
     * Agrees to `task` as described: its purpose text is kept with the decision, and the privacy
     * ledger records the task joined, with its privacy terms (one transaction: both or neither).
     */
    async join(task: DeviceTaskView, conditions?: TrainingConditions): Promise<ConsentRecord> {
      // Loaded at the first join, not with the page (its first bundle has a budget).
      const { afterJoin } = await import('../privacy/ledger.ts')
      const tx = db.transaction([STORES.consent, STORES.ledger], 'readwrite')
      const consent = tx.objectStore(STORES.consent)
      const ledger = tx.objectStore(STORES.ledger)
      const [before, entry] = await Promise.all([consent.get(task.id), ledger.get(task.id)])
      const at = now()
      const record: ConsentRecord = {
        taskId: task.id,
        taskName: task.name,
        dataset: task.dataset,
        purpose: task.purpose,
        state: 'granted',
        conditions: conditions ?? before?.conditions ?? NO_CONDITIONS,
        decidedAt: at,
      }
      await Promise.all([consent.put(record), ledger.put(afterJoin(entry, task, at)), tx.done])
      changed()
      return record
    },
    pause: (taskId: string) => update(taskId, (r) => ({ ...r, state: 'paused', decidedAt: now() })),
    resume: (taskId: string) =>
      update(taskId, (r) => ({ ...r, state: 'granted', decidedAt: now() })),
    setConditions: (taskId: string, conditions: TrainingConditions) =>
      update(taskId, (r) => ({ ...r, conditions })),
    /**
     * Removes the consent, and with it the task's checkpoint, top-k residual and any update not
     * yet sent: the next check-in no longer names the task, and nothing more of this phone's goes to it. The
     * privacy ledger keeps the task: what its rounds spent stays spent.
     */
    async withdraw(taskId: string): Promise<void> {
      const tx = db.transaction(
        [STORES.consent, STORES.checkpoints, STORES.residuals, STORES.uploads],
        'readwrite',
      )
      const uploads = tx.objectStore(STORES.uploads)
      const unsent = (await uploads.getAll()).filter((u) => u.taskId === taskId)
      await Promise.all([
        tx.objectStore(STORES.consent).delete(taskId),
        tx.objectStore(STORES.checkpoints).delete(taskId),
        tx.objectStore(STORES.residuals).delete(taskId),
        ...unsent.map((u) => uploads.delete(u.key)),
        tx.done,
      ])
      changed()
    },
    subscribe(listener: () => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export type ConsentStore = ReturnType<typeof createConsentStore>
