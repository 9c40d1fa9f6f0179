import type { ModelInfo } from '../models/index.ts'
import type { TaskRecord } from '../store/index.ts'
import type { Core, LiveTask } from './live.ts'
import type { PrivacyBudget } from './privacy-budget.ts'
import type { Transitions } from './transitions.ts'

/** Starting from what the store holds, and stopping so that it holds everything decided. */
export function createRecovery(
  core: Core,
  deps: {
    budget: PrivacyBudget
    transitions: Transitions
    addLiveTask: (record: TaskRecord, info: ModelInfo) => LiveTask
    /** Aborts the retries of writes waiting for the store. */
    abort: () => void
  },
) {
  const { store, models, clock, log, tasks } = core
  const { budget, transitions } = deps

  /** Each task's population, and the bounds its last committed round applied. */
  async function loadTasks() {
    for (const record of await store.listTasks())
      deps.addLiveTask(record, models.info(record.spec.model))
    for (const live of tasks.values()) {
      live.population = await budget.populationOf(live.record)
      const committed = (await store.listRounds(live.record.id)).filter(
        (r) => r.status === 'committed',
      )
      live.bounds = committed.at(-1)?.updateBounds ?? null
    }
  }

  /** The server optimizers' moments, as the last committed rounds stored them. */
  async function restoreStrategies() {
    for (const live of tasks.values()) {
      const hash = live.record.optimizerState
      if (!hash || !live.strategy.restore) continue
      try {
        live.strategy.restore(await models.weights(hash), live.info.updateSpec)
      } catch (error) {
        log(
          `task ${live.record.id}: server optimizer state ${hash} not restored, starting afresh: ${String(error)}`,
        )
      }
    }
  }

  /** Loads tasks; re-opens rounds a crash left open; opens rounds for running tasks. */
  async function start(): Promise<void> {
    await loadTasks()
    await restoreStrategies()
    const now = clock.now()
    for (const open of await store.listOpenRounds()) {
      const live = tasks.get(open.taskId)
      if (!live) continue
      await store.resetRound(open.taskId, open.round, now)
      transitions.reopen(live, open, now)
      log(`task ${open.taskId}: round ${open.round} was open at shutdown; re-opened`)
    }
    for (const live of tasks.values()) transitions.openNextRound(live)
  }

  /** Stops timers and waits for pending writes; the store stays open. */
  async function stop(): Promise<void> {
    deps.abort()
    for (const live of tasks.values()) {
      if (live.open?.timer) clock.clearTimeout(live.open.timer)
      for (const secure of live.secureRounds.values()) secure.dispose('the coordinator stopped')
    }
    await Promise.all([...tasks.values()].map((t) => t.queue))
  }

  return { start, stop }
}
