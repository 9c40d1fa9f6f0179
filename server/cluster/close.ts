import type { Commit } from '../rounds/commit.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import { RetryStopped } from '../rounds/retry.ts'
import { roundView } from '../rounds/views.ts'
import type { Ledger } from './ledger.ts'
import { restoreStrategy, roundOutcome } from './outcome.ts'
import type { Partials } from './partials.ts'
import type { ClusterSecure } from './secure.ts'

/**
 * The owner's close of a round: selecting → closing (fenced; uploads after it are late), every
 * replica's part gathered into a fresh aggregation, the round engine's commit (aggregate,
 * evaluate, store the model), then the round closed and the task moved on in one fenced
 * transaction. A close taken over half-done (the round already closing) picks up from there.
 */
export function createClose(
  core: Core,
  {
    ledger,
    partials,
    secure,
    commit,
  }: { ledger: Ledger; partials: Partials; secure: ClusterSecure; commit: Commit },
) {
  const { store, clock, events, metrics, log } = core
  /** Tasks whose round is closing here now (the cache leaves their record alone meanwhile). */
  const closing = new Set<string>()

  /** True once the round is closed; false where this replica turned out not to own it. */
  async function close(
    live: LiveTask,
    round: LiveRound,
    epoch: number,
    why: string,
  ): Promise<boolean> {
    const task = live.record
    const n = round.record.round
    if (round.phase !== 'closing') {
      if (!(await ledger.beginClose({ taskId: task.id, round: n, epoch }))) {
        const row = await ledger.round(task.id, n)
        if (row?.phase !== 'closing') return false
      }
      round.phase = 'closing'
    }
    closing.add(task.id)
    try {
      await partials.write(live, round)
      // The owner's aggregation of the round: every replica's part, merged afresh.
      const merged = {
        ...round,
        aggregation: live.strategy.beginRound({ round: n, spec: live.info.updateSpec }),
      }
      await restoreStrategy(core.models, live)
      // A secure round's survivors reveal their shares and the masked sum is unmasked.
      const unmasked = task.spec.secureAggregation
        ? await secure.unmask(live, merged, partials)
        : await partials.gather(live, n, merged.aggregation).then(() => null)
      await roundOutcome(store, ledger, merged)
      const r = merged.record
      const needed = merged.settings.minReports
      const before = { ...task }
      let abandoned: string | null
      try {
        abandoned =
          r.reported < needed
            ? `fewer reports than the ${needed} it needs`
            : (unmasked ?? (await commit(live, merged)))
      } catch (error) {
        if (error instanceof RetryStopped) throw error
        task.status = 'failed'
        task.error = `round ${n} could not be committed: ${String(error)}`
        abandoned = task.error
      }
      if (abandoned !== null) Object.assign(r, { status: 'abandoned', abandonedReason: abandoned })
      // A private round's noised sum left it (committed or not): the ε it was charged is this
      // record's, whichever copy of the round the charge saw.
      if (task.privacySpent !== before.privacySpent) r.epsilon = task.privacySpent?.epsilon ?? null
      r.closedAt = clock.now()
      task.updatedAt = r.closedAt
      const { taskId: _t, round: _n, ...roundPatch } = r
      // Only what the owner decides: a PATCH on another replica keeps its spec and status.
      const taskPatch = {
        modelHash: task.modelHash,
        committedRounds: task.committedRounds,
        optimizerState: task.optimizerState,
        updatedAt: task.updatedAt,
        error: task.error,
        privacySpent: task.privacySpent,
        ...(task.status !== before.status ? { status: task.status } : {}),
      }
      const phase = r.status === 'committed' ? 'committed' : 'abandoned'
      const done = await ledger.finishRound({
        epoch,
        round: { taskId: task.id, round: n, ...roundPatch },
        task: taskPatch,
        phase,
      })
      if (!done) {
        log(`task ${task.id} round ${n}: no longer the owner; its close is left to the new one`)
        Object.assign(task, before)
        return false
      }
      round.phase = phase
      if (live.open === round) live.open = undefined
      metrics.inc('pollen_rounds_total', { status: r.status })
      log(
        `task ${task.id} round ${n} ${r.status} (${why}): ${r.reported} report${r.reported === 1 ? '' : 's'}` +
          (r.accuracy !== null ? `, held-out accuracy ${r.accuracy.toFixed(4)}` : '') +
          (r.abandonedReason !== null ? `: ${r.abandonedReason}` : ''),
      )
      events.publish({
        type: 'round.closed',
        taskId: task.id,
        round: roundView(r, core.classesOf(live)),
      })
      events.publish({ type: 'task.updated', task: core.view(live) })
    } finally {
      closing.delete(task.id)
    }
    return true
  }

  return { close, busy: (taskId: string) => closing.has(taskId) }
}
