import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { deliverPending } from '../outbox/index.ts'
import { type HistoryRecord, type PollenDatabase, STORES } from '../storage/index.ts'
import type { ConditionSource } from '../tasks/conditions.ts'
import type { ConsentStore } from '../tasks/consent.ts'
import { createLink } from './link.ts'
import { contribute } from './pass.ts'
import { startTrainer, type StartedTrainer } from './start-trainer.ts'
import { type AppTrainer, type ContributionState, OFFLINE_RETRY_MS } from './state.ts'
import { consentsReady, findWork, idleWhy } from './work.ts'
import { createWaker, repeatPasses } from './waker.ts'

export type { AppTrainer, ContributionState, TrainProgress } from './state.ts'

export interface ContributorOptions {
  db: PollenDatabase
  /** The coordinator's base URL (the page's origin). */
  server: string
  /** Made on first need: the training worker is loaded only when there is work. */
  trainer: () => Promise<AppTrainer>
  consents: ConsentStore
  conditions: ConditionSource
  onState?: (state: ContributionState) => void
  /** Called after a round was added to the history. */
  onRound?: (record: HistoryRecord) => void
  /** Asks for a Background Sync, so the service worker sends queued updates if the page is gone. */
  requestSync?: () => Promise<void>
  /** Calls back when the network returns (default: the window's `online` event). */
  onOnline?: (listener: () => void) => () => void
  /** How long to wait before checking in again when the coordinator has nothing. */
  idleSeconds?: number
  fetch?: typeof globalThis.fetch
  now?: () => number
}

/** The reason an abort carries: the owner, or a condition, stopped the work. */
export class StoppedError extends Error {
  override name = 'AbortError'
}

/**
 * The phone's contribute loop: while the owner agreed to a task, examples are stored for it and
 * its conditions hold, check in naming the agreed tasks, train what is assigned, upload, and
 * record each round in the history. Withdrawing or pausing a task, or a condition that stops
 * holding, aborts the work for it at once. The round itself is the device pipeline's
 * (client/device/pipeline.ts, run by pass.ts); this keeps consent, conditions, backoff and state.
 */
export function createContributor(options: ContributorOptions) {
  const { db, server, consents, conditions, idleSeconds = 15, now = Date.now } = options
  const emit = options.onState ?? (() => {})
  const fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  const link = createLink({ db, server, fetch, now })
  let stopper: AbortController | null = null
  let running: Promise<void> | null = null
  let current: { taskIds: Set<string>; taskId?: string; controller: AbortController } | null = null
  const waker = createWaker()
  let trainer: StartedTrainer | null = null
  let state: ContributionState = { type: 'idle', reason: 'Not started.' }

  const set = (next: ContributionState) => {
    state = next
    emit(next)
  }

  /** Stops work for tasks that may no longer run, and wakes the loop to look again. */
  async function reconsider(): Promise<void> {
    const work = current
    if (work?.taskId && !(await readyConsents()).some((c) => c.taskId === work.taskId))
      work.controller.abort(new StoppedError('the owner withdrew, paused, or a condition stopped'))
    waker.kick()
  }
  const onChange = () => {
    reconsider().catch(() => {})
  }

  const readyConsents = () => consentsReady(consents, conditions)

  const idle = async (fallback: string): Promise<ContributionState> => ({
    type: 'idle',
    reason: await idleWhy({ db, consents }, link.tasks, fallback),
  })

  /**
   * Sends the updates waiting in the outbox. Returns how many still wait (offline, or the
   * coordinator did not answer); the history and the screen learn of each one that ended.
   */
  async function flush(): Promise<number> {
    if ((await db.count(STORES.uploads)) === 0) return 0
    const report = await deliverPending(db, {
      server,
      fetch,
      now,
      onRecord: (record) => options.onRound?.(record),
    })
    if (report.waiting > 0) {
      set({ type: 'queued', count: report.waiting })
      await options.requestSync?.().catch(() => {})
    }
    return report.waiting
  }

  /** One pass: check in once, and do the work if any. Returns how long to wait before the next. */
  async function step(stop: AbortSignal): Promise<number> {
    // Work already done goes first: updates that wait for the network.
    if ((await flush()) > 0) return OFFLINE_RETRY_MS
    const work = await findWork({ db, consents, conditions, over: link.over, now })
    if (work.type !== 'work') {
      set(
        work.type === 'waiting' ? { type: 'idle', reason: work.reason } : await idle(work.fallback),
      )
      return Infinity
    }
    if (!trainer) set({ type: 'starting' })
    const { made, backend, speed } = (trainer ??= await startTrainer({
      make: options.trainer,
      db,
      now,
    }))
    const forDataset = new Set(
      work.ready.filter((c) => c.dataset === work.dataset).map((c) => c.taskId),
    )
    const controller = new AbortController()
    const abort = () => controller.abort(stop.reason)
    stop.addEventListener('abort', abort)
    const doing: NonNullable<typeof current> = { taskIds: forDataset, controller }
    current = doing
    try {
      return await contribute(work, {
        db,
        link,
        trainer: made,
        backend,
        speed,
        conditions,
        readyTaskIds: async () =>
          (await readyConsents()).filter((c) => forDataset.has(c.taskId)).map((c) => c.taskId),
        signal: controller.signal,
        stopping: stop,
        working: (taskId) => (doing.taskId = taskId),
        show: set,
        shown: () => state,
        idle,
        flush,
        onRound: options.onRound,
        idleSeconds,
        now,
      })
    } finally {
      stop.removeEventListener('abort', abort)
      current = null
    }
  }

  return {
    /** The tasks the coordinator offers (enrols first if needed). */
    tasks: (): Promise<DeviceTaskView[]> => link.tasks(),
    /** Starts the loop (idempotent). */
    start(): void {
      if (running) return
      stopper = new AbortController()
      const stop = stopper.signal
      // The network coming back sends queued updates at once.
      const unsubscribe = [
        consents.subscribe(onChange),
        conditions.subscribe(onChange),
        (options.onOnline ?? windowOnline)(() => waker.kick()),
      ]
      running = repeatPasses(step, waker, stop).finally(() => {
        unsubscribe.forEach((u) => u())
        running = null
      })
    },
    /** Looks again now (updates were sent elsewhere, say by the service worker). */
    wake(): void {
      waker.kick()
    },
    /** Stops the loop and any work in progress; resolves when it has stopped. */
    async stop(): Promise<void> {
      stopper?.abort(new StoppedError('stopped'))
      await running
    },
    get state(): ContributionState {
      return state
    },
  }
}

export type Contributor = ReturnType<typeof createContributor>

function windowOnline(listener: () => void): () => void {
  globalThis.addEventListener('online', listener)
  return () => globalThis.removeEventListener('online', listener)
}
