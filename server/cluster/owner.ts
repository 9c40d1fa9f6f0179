import type { Commit } from '../rounds/commit.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import { RetryStopped } from '../rounds/retry.ts'
import { nextRound } from '../rounds/transitions.ts'
import { roundView } from '../rounds/views.ts'
import type { TimerHandle } from '../clock/index.ts'
import { clusterRound, type TaskCache } from './cache.ts'
import type { Ledger } from './ledger.ts'
import { createClose } from './close.ts'
import type { Partials } from './partials.ts'
import type { ClusterPrivacy } from './privacy.ts'
import type { ClusterSecure } from './secure.ts'

/**
 * The owner's side of a task (one replica at a time, by its advisory lock; fenced by the task's
 * owner_epoch, so a replica that lost the lock cannot write twice): it opens rounds, closes them
 * at their target or deadline (the deadline is the database's, so a new owner keeps it),
 * merges the replicas' partials, commits through the round engine's commit, and opens the next
 * (a private task's ε accounted as one process does: privacy.ts).
 * A task taken over with a round open carries that round on: its selections and accepted
 * updates stay counted.
 */
export function createOwner(
  core: Core,
  {
    ledger,
    cache,
    partials,
    secure,
    privacy,
    commit,
  }: {
    ledger: Ledger
    cache: TaskCache
    partials: Partials
    secure: ClusterSecure
    privacy: ClusterPrivacy
    commit: Commit
  },
) {
  const { clock, events, log } = core
  /** The tasks owned here, each with the epoch it was taken at and its deadline timer. */
  const owned = new Map<string, { epoch: number; timer?: TimerHandle | undefined }>()
  /** Closes and opens in flight, per task: one at a time; settled() waits for them. */
  const working = new Map<string, Promise<void>>()
  const { close, busy } = createClose(core, { ledger, partials, secure, commit })

  /** Runs `step` for the task after what runs for it now; errors are logged, not thrown. */
  function serially(taskId: string, step: () => Promise<void>): Promise<void> {
    const before = working.get(taskId) ?? Promise.resolve()
    const next = before.then(step).catch((error: unknown) => {
      if (!(error instanceof RetryStopped)) log(`task ${taskId}: ${String(error)}`)
    })
    working.set(taskId, next)
    void next.finally(() => {
      if (working.get(taskId) === next) working.delete(taskId)
    })
    return next
  }

  function acquire(taskId: string, epoch: number): Promise<void> {
    owned.set(taskId, { epoch })
    log(`task ${taskId}: owned here (epoch ${epoch})`)
    return check(taskId)
  }

  function lose(taskId: string): void {
    const own = owned.get(taskId)
    if (own?.timer) clock.clearTimeout(own.timer)
    owned.delete(taskId)
  }

  /** Whether this replica owns the task at `epoch` still (as far as it knows). */
  const holds = (taskId: string, epoch: number) => owned.get(taskId)?.epoch === epoch

  /** The owner's look at a task: open its next round, or close the open one if it is due. */
  function check(taskId: string): Promise<void> {
    const own = owned.get(taskId)
    if (!own) return Promise.resolve()
    const { epoch } = own
    return serially(taskId, async () => {
      if (!holds(taskId, epoch)) return
      const live = await cache.refreshTask(taskId)
      if (!live) return
      const round = live.open
      if (!round) return openNext(live, epoch)
      await privacy.carried(live, round)
      if (round.phase === 'closing')
        return closeThenOpen(live, round, epoch, 'taken over while closing')
      if (round.phase !== 'selecting') return
      const { deadlineAt } = round.record
      const counts = await ledger.counts(taskId, round.record.round)
      if (counts.reported >= round.settings.clientsPerRound)
        return closeThenOpen(live, round, epoch, 'target')
      if (deadlineAt !== null && clock.now() >= deadlineAt)
        return closeThenOpen(live, round, epoch, 'deadline')
      // A secure round moves on at its stages' windows; it closes once every device that
      // shared has sent its masked input (no more can come), or when it was abandoned.
      const secured = live.record.spec.secureAggregation
        ? await secure.advance(live, round)
        : { stage: null, nextAt: null }
      if (secured.stage === 'abandoned')
        return closeThenOpen(live, round, epoch, 'secure aggregation')
      if (secured.stage === 'unmask') return closeThenOpen(live, round, epoch, 'target')
      const wakeAt = Math.min(deadlineAt ?? Infinity, secured.nextAt ?? Infinity)
      if (wakeAt !== Infinity && !own.timer)
        own.timer = clock.setTimeout(() => {
          own.timer = undefined
          void check(taskId)
        }, wakeAt - clock.now())
    })
  }

  /** The task's next round, if it runs, has rounds to go and ε to spend (fenced). */
  async function openNext(live: LiveTask, epoch: number) {
    const task = live.record
    if (task.status !== 'running' || task.committedRounds >= task.spec.rounds.total) return
    const may = await privacy.mayOpen(live, epoch)
    if (may === 'lost') return lose(task.id)
    if (may === 'stopped') return
    const record = nextRound({ ...task, round: task.round + 1 }, clock.now())
    // Frozen with the round: every replica runs it by these, whatever PATCH comes meanwhile.
    const frozen = { settings: { ...task.spec.rounds }, train: { ...task.spec.train } }
    if (!(await ledger.openRound({ epoch, round: record, frozen }))) return lose(task.id)
    task.round = record.round
    live.open = clusterRound(live, record, 'open', frozen)
    privacy.opened(live, live.open)
    events.publish({
      type: 'round.opened',
      taskId: task.id,
      round: roundView(record, core.classesOf(live)),
    })
  }

  /** Closes the round; then, still the owner, opens the next. */
  async function closeThenOpen(live: LiveTask, round: LiveRound, epoch: number, why: string) {
    if (await close(live, round, epoch, why)) return openNext(live, epoch)
    lose(live.record.id)
  }

  async function settled(): Promise<void> {
    while (working.size > 0) await Promise.all([...working.values()])
  }

  function stop() {
    for (const id of [...owned.keys()]) lose(id)
  }

  return {
    acquire,
    lose,
    check,
    settled,
    stop,
    owns: (taskId: string) => owned.has(taskId),
    owned: () => [...owned.keys()],
    busy,
  }
}

export type Owner = ReturnType<typeof createOwner>
