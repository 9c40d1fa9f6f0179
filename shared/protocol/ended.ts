// Which task statuses mean the task has ended. Apart from the schemas (no zod here), so the phone
// page can ask it without loading them.
import type { TaskStatus } from './task.ts'

/** Statuses of a task that has ended: it trains no more, and its last model is its final one. */
export const ENDED_STATUSES = ['completed', 'failed'] as const satisfies readonly TaskStatus[]
export type EndedStatus = (typeof ENDED_STATUSES)[number]

export const isEnded = (status: TaskStatus): status is EndedStatus =>
  (ENDED_STATUSES as readonly TaskStatus[]).includes(status)
