import { noParticipation } from '../../shared/protocol/index.ts'
import { FRESH_ROUND, freshTraffic, type RoundRecord, type TaskRecord } from '../store/index.ts'
import type { Commit } from './commit.ts'
import { accepting, type Core, type LiveRound, type LiveTask } from './live.ts'
import type { PrivacyBudget } from './privacy-budget.ts'
import { RetryStopped } from './retry.ts'
import { roundView } from './views.ts'

export type CloseReason = 'target' | 'deadline' | 'secure aggregation'

/** A round whose close was cut short by stop(): it stays open, re-opened at the next start. */
const STOPPED = Symbol('stopped')

/** The record of the task's round `task.round` as it opens, on the task's current model. */
export const nextRound = (
  task: Pick<TaskRecord, 'id' | 'round' | 'modelHash'>,
  startedAt: number,
): RoundRecord => ({
  taskId: task.id,
  round: task.round,
  status: 'open',
  baseModel: task.modelHash,
  model: null,
  ...FRESH_ROUND,
  ...freshTraffic(),
  participation: noParticipation(),
  accuracy: null,
  loss: null,
  accuracyByLabel: null,
  confusion: null,
  trainingLoss: null,
  epsilon: null,
  startedAt,
})

/** The in-memory state of round `record` at `phase`, with a fresh aggregation of the task's. */
export const roundState = (
  live: LiveTask,
  record: RoundRecord,
  phase: LiveRound['phase'],
  sampling: number,
): LiveRound => ({
  record,
  phase,
  settings: { ...live.record.spec.rounds },
  train: { ...live.record.spec.train },
  info: live.info,
  aggregation: live.strategy.beginRound({ round: record.round, spec: live.info.updateSpec }),
  secure: undefined,
  claims: new Map(),
  sampling,
  devices: new Map(),
  trainingLoss: { sum: 0, examples: 0 },
  timer: undefined,
})

/** The in-memory state of a round that opens on `record`, begun under the task's policy. */
export function beginRound(live: LiveTask, record: RoundRecord, sampling: number): LiveRound {
  const round = roundState(live, record, 'open', sampling)
  record.updateBounds = round.aggregation.bounds?.() ?? null
  live.policy.begin(live, round)
  return round
}

/**
 * A round's life, one function per transition, each persisted as it happens (in the task's
 * write order): open (openNextRound, or reopen after a restart) → selecting (startSelecting, at
 * the first device; a sync round's deadline starts) → closing (close) → committed | abandoned.
 */
export function createTransitions(core: Core, commit: Commit, budget: PrivacyBudget) {
  const { store, clock, events, metrics, log, tasks } = core
  /** Rounds closing now (commit, evaluation): settled() waits for them. */
  const closing = new Set<Promise<void>>()

  /** open: the task's next round, if it is running, has rounds to go and ε to spend. */
  function openNextRound(live: LiveTask) {
    const task = live.record
    if (task.status !== 'running' || live.open) return
    if (task.committedRounds >= task.spec.rounds.total) return
    if (budget.stopAtBudget(live)) return
    task.round += 1
    const record = nextRound(task, clock.now())
    live.open = beginRound(live, record, budget.sampling(live, live.record.spec.rounds))
    void core.enqueue(live, () => store.openRound({ ...record }))
    events.publish({
      type: 'round.opened',
      taskId: task.id,
      round: roundView(record, core.classesOf(live)),
    })
  }

  /** open, again: a round a crash left open starts afresh under its number (already stored). */
  function reopen(live: LiveTask, open: RoundRecord, now: number) {
    const record: RoundRecord = {
      ...open,
      ...FRESH_ROUND,
      ...freshTraffic(),
      participation: noParticipation(),
      startedAt: now,
    }
    live.record.round = Math.max(live.record.round, open.round)
    live.open = beginRound(live, record, budget.sampling(live, live.record.spec.rounds))
  }

  /** open → selecting: the first device was selected. */
  function startSelecting(live: LiveTask, round: LiveRound) {
    if (round.phase !== 'open') return
    round.phase = 'selecting'
    live.policy.selectionStarted(live, round)
  }

  /** A sync round's deadline, from its first selection: it closes then, whatever came. */
  function startDeadline(live: LiveTask, round: LiveRound) {
    const ms = round.settings.deadlineSeconds * 1000
    round.record.deadlineAt = clock.now() + ms
    round.timer = clock.setTimeout(() => close(live, round, 'deadline'), ms)
  }

  /** selecting → closing → committed | abandoned, tracked for settled(). */
  function close(live: LiveTask, round: LiveRound, why: CloseReason) {
    const done = closeRound(live, round, why).finally(() => closing.delete(done))
    closing.add(done)
  }

  /** Why the round cannot commit, having tried (null: committed); the task fails on an error. */
  async function outcome(
    live: LiveTask,
    round: LiveRound,
  ): Promise<string | null | typeof STOPPED> {
    try {
      return (await live.policy.closing(live, round)) ?? (await commit(live, round))
    } catch (error) {
      // Stopped while the store was failing: the round stays open, re-opened at the next start.
      if (error instanceof RetryStopped) return STOPPED
      const task = live.record
      task.status = 'failed'
      task.error = `round ${round.record.round} could not be committed: ${String(error)}`
      log(task.error)
      return task.error
    }
  }

  /** Closes the open round: commits a new model if enough reports came, else abandons it. */
  async function closeRound(live: LiveTask, round: LiveRound, why: CloseReason) {
    if (!accepting(round)) return
    round.phase = 'closing'
    if (round.timer) clock.clearTimeout(round.timer)
    const task = live.record
    const r = round.record
    const abandoned = await outcome(live, round)
    if (abandoned === STOPPED) return
    if (abandoned !== null) Object.assign(r, { status: 'abandoned', abandonedReason: abandoned })
    round.phase = r.status === 'committed' ? 'committed' : 'abandoned'
    const { sum, examples } = round.trainingLoss
    r.trainingLoss = examples > 0 ? sum / examples : null
    r.closedAt = clock.now()
    task.updatedAt = r.closedAt
    const { taskId, round: n, ...roundPatch } = r
    const { id: _id, createdAt: _c, spec: _s, ...taskPatch } = task
    await core.enqueue(live, () =>
      store.closeRound({ round: { taskId, round: n, ...roundPatch }, task: taskPatch }),
    )
    metrics.inc('pollen_rounds_total', { status: r.status })
    log(
      `task ${task.id} round ${n} ${r.status} (${why}): ${r.reported} report${r.reported === 1 ? '' : 's'}` +
        (r.accuracy !== null ? `, held-out accuracy ${r.accuracy.toFixed(4)}` : '') +
        (r.abandonedReason !== null ? `: ${r.abandonedReason}` : ''),
    )
    if (live.open === round) live.open = undefined
    if (!tasks.has(task.id)) return
    // The next round's sampling rate counts the devices there are now.
    if (task.spec.privacy)
      live.population = await budget.populationOf(task).catch(() => live.population)
    events.publish({ type: 'round.closed', taskId, round: roundView(r, core.classesOf(live)) })
    events.publish({ type: 'task.updated', task: core.view(live) })
    openNextRound(live)
  }

  /**
   * Resolves once no round is closing and every write decided so far is stored: a simulation on
   * virtual time waits here, so that a commit happens at the virtual moment that caused it. (A
   * secure round closing waits for its reveals, up to a window on the clock: on virtual time,
   * reveal or advance the clock first.)
   */
  async function settled(): Promise<void> {
    while (closing.size > 0) await Promise.all([...closing])
    await Promise.all([...tasks.values()].map((t) => t.queue))
  }

  return { openNextRound, reopen, startSelecting, startDeadline, close, settled }
}

export type Transitions = ReturnType<typeof createTransitions>
