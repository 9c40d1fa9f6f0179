// The privacy ledger: the tasks this phone joined and the ε each has spent, for its owner. The
// outbox counts accepted updates (contribution.ts) from the service worker too.
import type { DevicePrivacyView, DeviceTaskView } from '../../../shared/protocol/index.ts'
import {
  type LedgerPrivacy,
  type LedgerRecord,
  type PollenDatabase,
  STORES,
} from '../storage/index.ts'
import { afterContribution, NAME_CHARS } from './contribution.ts'

export { afterContribution } from './contribution.ts'

export type DifferentialPrivacyTerms = NonNullable<DevicePrivacyView['differentialPrivacy']>

const MODES: Record<DifferentialPrivacyTerms['mode'], true> = { central: true, distributed: true }

const nonNegative = (x: unknown): x is number =>
  typeof x === 'number' && Number.isFinite(x) && x >= 0

/**
 * The task's differential privacy as the coordinator states it: its terms, null (none), or
 * undefined when they do not make sense (a number not finite or negative, δ not below 1, an
 * unknown mode) and so cannot be taken at their word.
 */
export function readDifferentialPrivacy(
  view: DevicePrivacyView | undefined,
): DifferentialPrivacyTerms | null | undefined {
  const dp: unknown = view?.differentialPrivacy
  if (dp === null) return null
  if (typeof dp !== 'object' || dp === undefined) return undefined
  const { mode, clipNorm, noiseMultiplier, delta, epsilonBudget, epsilonSpent } = dp as Record<
    string,
    unknown
  >
  if (typeof mode !== 'string' || !Object.hasOwn(MODES, mode)) return undefined
  const numbers = [clipNorm, noiseMultiplier, delta, epsilonBudget, epsilonSpent]
  if (!numbers.every(nonNegative) || (delta as number) >= 1) return undefined
  return {
    mode: mode as DifferentialPrivacyTerms['mode'],
    clipNorm: clipNorm as number,
    noiseMultiplier: noiseMultiplier as number,
    delta: delta as number,
    epsilonBudget: epsilonBudget as number,
    epsilonSpent: epsilonSpent as number,
  }
}

/** The part of a task's differential privacy the ledger keeps; undefined: not to be taken. */
export function readPrivacy(view: DevicePrivacyView | undefined): LedgerPrivacy | null | undefined {
  const dp = readDifferentialPrivacy(view)
  return (
    dp && {
      epsilonSpent: dp.epsilonSpent,
      epsilonBudget: dp.epsilonBudget,
      delta: dp.delta,
      mode: dp.mode,
    }
  )
}

/** The task's terms laid over what the record had: a value that does not make sense is not taken. */
function withTerms(record: LedgerRecord, task: DeviceTaskView, at: number): LedgerRecord {
  const dp = readPrivacy(task.privacy)
  const before = record.differentialPrivacy
  const sa: unknown = task.privacy?.secureAggregation
  const name: unknown = task.name
  return {
    ...record,
    taskName: typeof name === 'string' ? name.slice(0, NAME_CHARS) : record.taskName,
    differentialPrivacy:
      dp === undefined
        ? before
        : // What was spent stays spent: a lower report (a coordinator that lost count) is not taken.
          dp && before && before.delta === dp.delta
          ? { ...dp, epsilonSpent: Math.max(before.epsilonSpent, dp.epsilonSpent) }
          : dp,
    secureAggregation: typeof sa === 'boolean' ? sa : record.secureAggregation,
    updatedAt: at,
  }
}

/**
 * The record after the owner joins `task` (again): a new one, or the old one with its rounds and
 * first join kept and the task's terms as they are now.
 */
export function afterJoin(
  record: LedgerRecord | undefined,
  task: DeviceTaskView,
  at: number,
): LedgerRecord {
  return withTerms(
    record ?? {
      taskId: task.id,
      taskName: task.id,
      joinedAt: at,
      rounds: 0,
      lastContributionAt: null,
      // Until the terms are known, the weakest: nothing bounds what the coordinator learns.
      differentialPrivacy: null,
      secureAggregation: false,
      updatedAt: at,
    },
    task,
    at,
  )
}

/** Keeps the record of a task joined (on consent), with the task's privacy terms. */
export async function recordJoin(
  db: PollenDatabase,
  task: DeviceTaskView,
  at: number = Date.now(),
): Promise<LedgerRecord> {
  const tx = db.transaction(STORES.ledger, 'readwrite')
  const next = afterJoin(await tx.store.get(task.id), task, at)
  await Promise.all([tx.store.put(next), tx.done])
  return next
}

/** Counts an update the coordinator accepted for `taskId`, at `at`. */
export async function recordContribution(
  db: PollenDatabase,
  taskId: string,
  at: number,
): Promise<LedgerRecord> {
  const tx = db.transaction(STORES.ledger, 'readwrite')
  const next = afterContribution(await tx.store.get(taskId), taskId, at)
  await Promise.all([tx.store.put(next), tx.done])
  return next
}

/**
 * Takes the privacy terms (ε spent above all) of the joined tasks in the coordinator's latest
 * list. A task no longer listed keeps its last values; one never joined gets no record.
 */
export async function refreshPrivacy(
  db: PollenDatabase,
  tasks: readonly DeviceTaskView[],
  at: number = Date.now(),
): Promise<void> {
  const listed = new Map(tasks.map((t) => [t.id, t]))
  const tx = db.transaction(STORES.ledger, 'readwrite')
  const updates: Promise<unknown>[] = []
  for (const record of await tx.store.getAll()) {
    const task = listed.get(record.taskId)
    if (task) updates.push(tx.store.put(withTerms(record, task, at)))
  }
  await Promise.all([...updates, tx.done])
}

/** The ledger, the task joined first first. */
export async function readLedger(db: PollenDatabase): Promise<LedgerRecord[]> {
  return (await db.getAll(STORES.ledger)).sort(
    (a, b) => a.joinedAt - b.joinedAt || a.taskId.localeCompare(b.taskId),
  )
}
