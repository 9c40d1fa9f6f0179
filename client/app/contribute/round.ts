// One round on the phone: the parts of the device pipeline that are the phone's own
// (checkpoints in IndexedDB; delivery through the outbox is outbox/queue.ts), and the history
// record of a round that ends here rather than in the outbox.
import { type Assignment, type Backend, plannedSteps } from '../../../shared/protocol/index.ts'
import type { Checkpoints } from '../../device/pipeline.ts'
import type { SecureOutcome } from '../../device/secure.ts'
import {
  type CheckpointRecord,
  type HistoryRecord,
  type PollenDatabase,
  roundDownload,
  type RoundDownload,
} from '../storage/index.ts'
import { checkpointEvery, saveCheckpoint } from './checkpoints.ts'

/**
 * A round this phone works on: assigned at a check-in, or resumed from its checkpoint. Its
 * download is told once the model came (kept in its checkpoint, for the History after a reload).
 */
export interface PhoneRound extends RoundDownload {
  assignment: Assignment
  taskName: string
  backend: Backend
  startedAt: number
  /** Examples of the dataset when training started (a checkpoint over others is void). */
  exampleCount: number
  /** The checkpoint it carries on from, after a reload. */
  saved?: CheckpointRecord
}

/** The round as its checkpoint saved it. */
export const resumedRound = (saved: CheckpointRecord): PhoneRound => ({
  assignment: saved.assignment,
  taskName: saved.taskName,
  backend: saved.backend,
  startedAt: saved.startedAt,
  exampleCount: saved.exampleCount,
  ...roundDownload(saved),
  saved,
})

/** Checkpoints every tenth of the round's steps into IndexedDB, resuming from the saved one. */
export function phoneCheckpoints(
  db: PollenDatabase,
  round: PhoneRound,
  now: () => number = Date.now,
): Checkpoints {
  const { assignment, taskName, exampleCount, backend, startedAt } = round
  return {
    ...(round.saved ? { resumeFrom: round.saved.checkpoint } : {}),
    // The same steps for a resumed round: its assignment (and plan) came with the checkpoint.
    every: checkpointEvery(plannedSteps(assignment.plan, exampleCount)),
    async save(checkpoint) {
      await saveCheckpoint(db, {
        taskId: assignment.taskId,
        taskName,
        assignment,
        exampleCount,
        checkpoint,
        backend,
        startedAt,
        ...roundDownload(round),
        savedAt: now(),
      })
    },
  }
}

/** The work a round did before it ended (none before it trained). */
export interface WorkDone {
  examples: number
  steps: number
}

const recordOf = (round: PhoneRound, work: WorkDone, finishedAt: number) => ({
  taskId: round.assignment.taskId,
  taskName: round.taskName,
  round: round.assignment.round,
  examples: work.examples,
  steps: work.steps,
  backend: round.backend,
  startedAt: round.startedAt,
  finishedAt,
  ...roundDownload(round),
})

/** A secure round's history: it ends online, with the unmasking, never in the outbox. */
export function secureRecord(
  round: PhoneRound,
  work: WorkDone,
  ended: SecureOutcome,
  finishedAt: number,
): HistoryRecord {
  return {
    ...recordOf(round, work, finishedAt),
    outcome: ended.answer?.type ?? 'failed',
    detail:
      ended.outcome === 'done'
        ? 'Securely aggregated: the coordinator learnt only the sum of the round’s updates.'
        : `Secure aggregation ${ended.outcome}${ended.reason ? `: ${ended.reason}` : ''}.`,
    bytesSent: ended.bytes,
  }
}

/** A round that ended before its update was delivered: stopped, left behind, or failed. */
export function unfinishedRecord(
  round: PhoneRound,
  work: WorkDone,
  how: { stopped: boolean; leftBehind?: string | undefined },
  finishedAt: number,
): HistoryRecord {
  return {
    ...recordOf(round, work, finishedAt),
    outcome: how.stopped ? 'stopped' : 'failed',
    bytesSent: 0,
    detail: how.leftBehind
      ? `The secure round went on without this phone: ${how.leftBehind}.`
      : how.stopped
        ? 'Stopped: you withdrew or paused the task, or a condition stopped holding.'
        : 'Training or sending the update failed; Pollen tries again.',
  }
}
