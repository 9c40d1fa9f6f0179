// Which card each task gets, in the screen's order: the tasks on offer first, then the ended ones
// this phone joined, then those it joined that the coordinator no longer lists. Pure.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { isEnded } from '../../../shared/protocol/ended.ts'
import type { ConsentRecord } from '../storage/index.ts'

export type CardPlan =
  | { kind: 'offered'; task: DeviceTaskView; consent: ConsentRecord | undefined }
  | { kind: 'ended'; task: DeviceTaskView }
  /** Joined, and the coordinator (reached) no longer lists it: its data scientist deleted it. */
  | { kind: 'removed'; consent: ConsentRecord }
  /** Joined, while the coordinator cannot be reached: shown as the owner agreed to it. */
  | { kind: 'stored'; consent: ConsentRecord }

/**
 * The tasks joined whose purpose changed since the owner agreed: that agreement does not cover
 * it, so they are paused before the cards are drawn.
 */
export const purposeChanged = (
  tasks: readonly DeviceTaskView[],
  mine: ReadonlyMap<string, ConsentRecord>,
): string[] =>
  tasks
    .filter((task) => {
      const consent = mine.get(task.id)
      return (
        !isEnded(task.status) && consent?.state === 'granted' && consent.purpose !== task.purpose
      )
    })
    .map((task) => task.id)

/** The cards to show; `reached`: whether `tasks` came from the coordinator just now. */
export function arrangeCards(
  tasks: readonly DeviceTaskView[],
  mine: ReadonlyMap<string, ConsentRecord>,
  reached: boolean,
): CardPlan[] {
  const listed = new Set(tasks.map((t) => t.id))
  return [
    ...tasks
      .filter((t) => !isEnded(t.status))
      .map((task): CardPlan => ({ kind: 'offered', task, consent: mine.get(task.id) })),
    // Ended tasks only for the phones that joined them: there is nothing left to decide.
    ...tasks
      .filter((t) => isEnded(t.status) && mine.has(t.id))
      .map((task): CardPlan => ({ kind: 'ended', task })),
    ...[...mine.values()]
      .filter((c) => !listed.has(c.taskId))
      .map((consent): CardPlan => ({ kind: reached ? 'removed' : 'stored', consent })),
  ]
}
