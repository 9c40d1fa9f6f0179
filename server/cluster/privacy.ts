import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import type { PrivacyBudget } from '../rounds/privacy-budget.ts'
import type { Ledger } from './ledger.ts'

/**
 * A private task's accounting on replicas, the owner's part of what one process does
 * (rounds/privacy-budget.ts): before a round opens, the population is counted and a task whose
 * next round would pass its ε budget completes instead (fenced, like every owner write); the
 * round that opens has its sampling rate fixed. ε is charged as the noised sum leaves the round
 * (the strategy's charge) and stored with its close (close.ts), so that every replica reads it.
 */
export function createClusterPrivacy(
  core: Core,
  { ledger, budget }: { ledger: Ledger; budget: PrivacyBudget },
) {
  const { clock, events, log } = core
  /** Rounds whose sampling rate this replica has fixed. */
  const fixed = new WeakSet<LiveRound>()

  /**
   * Whether the task's next round may open: 'stopped' where its budget is spent (the task is
   * completed, saying why), 'lost' where this replica turned out not to own it any more.
   */
  async function mayOpen(live: LiveTask, epoch: number): Promise<'open' | 'stopped' | 'lost'> {
    const task = live.record
    if (!task.spec.privacy) return 'open'
    live.population = await budget.populationOf(task)
    const stoppedReason = budget.exhausted(live)
    if (!stoppedReason) return 'open'
    const patch = { status: 'completed' as const, stoppedReason, updatedAt: clock.now() }
    if (!(await ledger.updateTask({ epoch, taskId: task.id, task: patch }))) return 'lost'
    Object.assign(task, patch)
    log(`task ${task.id} stopped: ${stoppedReason}`)
    events.publish({ type: 'task.updated', task: core.view(live) })
    return 'stopped'
  }

  /** The round this owner opens: its sampling rate, from the population counted at mayOpen. */
  function opened(live: LiveTask, round: LiveRound): void {
    if (!live.record.spec.privacy) return
    round.sampling = budget.sampling(live, round.settings)
    fixed.add(round)
  }

  /**
   * A round this replica took over open: its rate is counted again, from the population now,
   * as one process counts it again for a round it reopens after a restart.
   */
  async function carried(live: LiveTask, round: LiveRound): Promise<void> {
    if (!live.record.spec.privacy || fixed.has(round)) return
    live.population = await budget.populationOf(live.record)
    opened(live, round)
  }

  return { mayOpen, opened, carried }
}

export type ClusterPrivacy = ReturnType<typeof createClusterPrivacy>
