// Counting an accepted update in the privacy ledger: apart from the rest of the ledger, because
// the outbox does it, and the outbox is in the page's first bundle and in the service worker.
import type { LedgerRecord } from '../storage/index.ts'

/** Longer task names are cut: the coordinator caps them at 200 characters anyway. */
export const NAME_CHARS = 200

/** The record after the coordinator accepted one more of this phone's updates for the task. */
export function afterContribution(
  record: LedgerRecord | undefined,
  taskId: string,
  at: number,
  /** For a task the ledger has no record of (joined on a ledger that failed to write). */
  taskName = taskId,
): LedgerRecord {
  const base = record ?? {
    taskId,
    taskName: taskName.slice(0, NAME_CHARS),
    joinedAt: at,
    rounds: 0,
    lastContributionAt: null,
    // The terms unknown: the weakest, until the next task list says.
    differentialPrivacy: null,
    secureAggregation: false,
    updatedAt: at,
  }
  return { ...base, rounds: base.rounds + 1, lastContributionAt: at, updatedAt: at }
}
