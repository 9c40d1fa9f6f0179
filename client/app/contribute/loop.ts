import type { Examples } from '../../../shared/data/index.ts'
import {
  type Assignment,
  type Backend,
  type DeviceTaskView,
  type ModelSpecWire,
  plannedSteps,
  type TaskStatus,
} from '../../../shared/protocol/index.ts'
import { isEnded } from '../../../shared/protocol/ended.ts'
import {
  createDevice,
  encodeUpdate,
  partialWorkStop,
  privatized,
  ProtocolError,
  updateMetadata,
} from '../../device/runtime.ts'
import type { SecureSession } from '../../device/secure.ts'
import type { Trainer, TrainOutcome, TrainProgress } from '../../device/trainer.ts'
import { recordRound } from '../history/store.ts'
import { deliverPending } from '../outbox/index.ts'
import { refreshPrivacy } from '../privacy/ledger.ts'
import {
  type ConsentRecord,
  type HistoryRecord,
  INDEXES,
  loadSpeed,
  type PollenDatabase,
  readExamples,
  saveSpeed,
  STORES,
} from '../storage/index.ts'
import { type ConditionSource, deviceState, unmetConditions } from '../tasks/conditions.ts'
import { idleReason } from '../tasks/idle.ts'
import type { ConsentStore } from '../tasks/consent.ts'
import {
  checkpointEvery,
  deleteCheckpoint,
  findResumable,
  indexedDbModels,
  queueUpload,
  saveCheckpoint,
  uploadKey,
} from './checkpoints.ts'
import { clearEnrolment, type Enrolment, loadEnrolment, saveEnrolment } from './enrolment.ts'
import { measuredSpeed, SPEED_MODEL, speedProbe } from './speed.ts'

export type { TrainProgress }

/** What the phone's trainer is: the runtime's `Trainer`, set up once. */
export interface AppTrainer extends Trainer {
  /** Picks the TF.js backend (WebGPU, WASM, CPU) and says which (for wasm: SIMD, threads). */
  init?(): Promise<{ backend: Backend; simd?: boolean; threads?: number }>
  /** Times a few training steps of `spec` on that backend. */
  measureSpeed?(spec: ModelSpecWire): Promise<{ examplesPerSecond: number }>
}

/** How soon to try again while updates wait for the network (an `online` event comes sooner). */
const OFFLINE_RETRY_MS = 30_000

/** Where the contribution stands, for the screen. */
export type ContributionState =
  | { type: 'idle'; reason: string }
  | { type: 'starting' }
  | { type: 'checking-in'; backend: Backend }
  | { type: 'waiting'; backend: Backend; seconds: number; reason: string }
  | {
      type: 'training'
      backend: Backend
      taskId: string
      taskName: string
      round: number
      progress: TrainProgress | null
      /** The step a checkpoint let this round's training carry on from, after a reload. */
      resumedFrom: number | null
      /** The first step the worker reported in this run (resumedFrom + 1 when resumed). */
      firstStep: number | null
    }
  | { type: 'uploading'; backend: Backend; taskId: string; taskName: string; round: number }
  /** Trained updates wait for the network (they go when it returns, or the app opens again). */
  | { type: 'queued'; count: number }
  | { type: 'error'; message: string }

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
 * holding, aborts the work for it at once.
 */
export function createContributor(options: ContributorOptions) {
  const { db, server, consents, conditions, idleSeconds = 15, now = Date.now } = options
  const emit = options.onState ?? (() => {})
  const http = options.fetch ?? globalThis.fetch.bind(globalThis)
  let stopper: AbortController | null = null
  let running: Promise<void> | null = null
  let current: { taskIds: Set<string>; taskId?: string; controller: AbortController } | null = null
  let kick: (() => void) | null = null
  let trainer: AppTrainer | null = null
  let backend: Backend | null = null
  /** Examples per second on `backend`, reported at check-in (undefined: not known). */
  let speed: number | undefined
  let state: ContributionState = { type: 'idle', reason: 'Not started.' }

  const set = (next: ContributionState) => {
    state = next
    emit(next)
  }

  /** Sleeps `ms`, or less when a consent or condition changes, or the loop stops. */
  function wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        kick = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done)
      kick = done
    })
  }

  /** Stops work for tasks that may no longer run, and wakes the loop to look again. */
  async function reconsider(): Promise<void> {
    const work = current
    if (work?.taskId) {
      const ready = await readyConsents()
      if (!ready.some((c) => c.taskId === work.taskId)) {
        work.controller.abort(
          new StoppedError('the owner withdrew, paused, or a condition stopped'),
        )
      }
    }
    kick?.()
  }
  const onChange = () => {
    reconsider().catch(() => {})
  }

  /** Consents granted whose conditions hold now. */
  async function readyConsents(): Promise<ConsentRecord[]> {
    const signals = conditions.read()
    return (await consents.granted()).filter(
      (c) => unmetConditions(c.conditions, signals).length === 0,
    )
  }

  async function enrolment(): Promise<Enrolment> {
    const stored = await loadEnrolment(db)
    if (stored) return stored
    const device = createDevice({ ...base(), examples: EMPTY, backend: backend ?? 'cpu' })
    const answer = await device.enrol()
    const fresh = { deviceId: answer.deviceId, token: answer.token }
    await saveEnrolment(db, fresh, now())
    return fresh
  }

  const base = () => ({ server, trainer: trainer ?? NO_TRAINER, fetch: http })

  /** The statuses of the tasks the coordinator last listed; null until it was asked. */
  let listed: Map<string, TaskStatus> | null = null
  /** A task that list says ended, or no longer has (removed). */
  const over = (taskId: string): boolean => {
    if (!listed) return false
    const status = listed.get(taskId)
    return status === undefined || isEnded(status)
  }

  /**
   * The tasks the coordinator offers, for the owner to weigh (enrols first if needed). The privacy
   * ledger takes their latest terms (ε spent); a ledger that cannot be written does not keep the
   * list from the screen.
   */
  async function tasks(): Promise<DeviceTaskView[]> {
    const device = createDevice({
      ...base(),
      examples: EMPTY,
      backend: backend ?? 'cpu',
      enrolment: await enrolment(),
    })
    try {
      const offered = await device.tasks()
      listed = new Map(offered.map((t) => [t.id, t.status]))
      await refreshPrivacy(db, offered, now()).catch((error: unknown) =>
        console.warn('Pollen: the privacy ledger was not updated:', error),
      )
      return offered
    } catch (error) {
      if (error instanceof ProtocolError && error.status === 401) {
        await clearEnrolment(db)
        return tasks()
      }
      throw error
    }
  }

  /**
   * Idle, saying why in plain words from the owner's decisions, the coordinator's list (asked
   * only when some task was joined) and the examples held; `fallback` when those do not explain it.
   */
  async function idle(fallback: string): Promise<ContributionState> {
    const joined = await consents.list()
    const listed = joined.length === 0 ? null : await tasks().catch(() => null)
    const examples = new Map<string, number>()
    for (const { dataset } of joined)
      examples.set(dataset, await db.countFromIndex(STORES.examples, INDEXES.byDataset, dataset))
    const reason = idleReason({ consents: joined, tasks: listed, examples })
    return { type: 'idle', reason: reason ?? fallback }
  }

  /**
   * Sends the updates waiting in the outbox. Returns how many still wait (offline, or the
   * coordinator did not answer); the history and the screen learn of each one that ended.
   */
  async function flush(): Promise<number> {
    if ((await db.count(STORES.uploads)) === 0) return 0
    const report = await deliverPending(db, {
      server,
      fetch: http,
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
    // A task that ended keeps its consent (its card stays), but is no work to look for.
    const granted = (await consents.granted()).filter((c) => !over(c.taskId))
    if (granted.length === 0) {
      set(await idle('Nothing to train: join a task below to contribute.'))
      return Infinity
    }
    const signals = conditions.read()
    const ready = granted.filter((c) => unmetConditions(c.conditions, signals).length === 0)
    if (ready.length === 0) {
      const why = [...new Set(granted.flatMap((c) => unmetConditions(c.conditions, signals)))]
      set({ type: 'idle', reason: `Waiting: ${why.join('; ')}.` })
      return Infinity
    }
    const held = new Map<string, Examples>()
    const examplesOf = async (dataset: string) => {
      let found = held.get(dataset)
      if (!found) held.set(dataset, (found = await readExamples(db, dataset)))
      return found
    }
    // A round this phone was training when the page closed, if its deadline still holds.
    let saved = await findResumable(db, {
      ready: new Set(ready.map((c) => c.taskId)),
      exampleCount: async (dataset) => (await examplesOf(dataset)).count,
      now: now(),
    })
    // A secure round cannot resume: its keys and shares lived in the page that closed.
    if (saved?.assignment.secureAggregation) {
      await deleteCheckpoint(db, saved.taskId)
      saved = undefined
    }
    // Else one dataset at a time: the first agreed task's whose examples are stored.
    let dataset = saved?.assignment.dataset ?? ''
    if (!saved) {
      for (const name of new Set(ready.map((c) => c.dataset))) {
        if ((await examplesOf(name)).count > 0) {
          dataset = name
          break
        }
      }
    }
    if (!dataset) {
      set(
        await idle(
          'Nothing to train: no examples are stored for the tasks that may train now. Add some on Data.',
        ),
      )
      return Infinity
    }
    const examples = await examplesOf(dataset)
    if (!trainer) {
      set({ type: 'starting' })
      const made = await options.trainer()
      const started = (await made.init?.()) ?? { backend: 'cpu' as const }
      backend = started.backend
      // Once per worker, so once per backend it starts on: stored, it costs nothing after.
      speed = await measuredSpeed({
        probe: speedProbe(started, typeof navigator === 'undefined' ? '' : navigator.userAgent),
        load: (b) => loadSpeed(db, b),
        save: (record) => saveSpeed(db, record),
        ...(made.measureSpeed ? { measure: () => made.measureSpeed!(SPEED_MODEL) } : {}),
        now: now(),
      })
      trainer = made
    }
    const workBackend = saved?.backend ?? backend ?? 'cpu'
    const forDataset = new Set(ready.filter((c) => c.dataset === dataset).map((c) => c.taskId))
    const controller = new AbortController()
    const abort = () => controller.abort(stop.reason)
    stop.addEventListener('abort', abort)
    const work: NonNullable<typeof current> = { taskIds: forDataset, controller }
    current = work
    let assignment: Assignment | null = saved?.assignment ?? null
    let taskName = saved?.taskName ?? ''
    let startedAt = saved?.startedAt ?? now()
    const device = createDevice({
      ...base(),
      examples,
      dataset,
      backend: workBackend,
      enrolment: await enrolment(),
      signal: controller.signal,
      models: indexedDbModels(db, now),
      ...(speed !== undefined ? { examplesPerSecond: speed } : {}),
      state: () => deviceState(conditions.read()),
      // Read at the check-in itself: a withdrawal a moment before is already honoured.
      consents: async () =>
        (await readyConsents()).filter((c) => forDataset.has(c.taskId)).map((c) => c.taskId),
    })
    let trained: TrainOutcome | null = null
    let secure: SecureSession | undefined
    /** Why a secure round went on without this phone, if it did. */
    let leftBehind: string | undefined
    try {
      if (!assignment) {
        set({ type: 'checking-in', backend: workBackend })
        const answer = await device.checkin()
        if (answer.type === 'none') {
          set(await idle(`Nothing to train now: the coordinator says ${answer.reason}.`))
          return idleSeconds * 1000
        }
        if (answer.type === 'retry') {
          set({
            type: 'waiting',
            backend: workBackend,
            seconds: answer.retryAfterSeconds,
            reason: answer.reason,
          })
          return answer.retryAfterSeconds * 1000
        }
        assignment = answer
        taskName = ready.find((c) => c.taskId === answer.taskId)?.taskName ?? answer.taskId
        startedAt = now()
      }
      const job = assignment
      work.taskId = job.taskId
      // Keys and shares go while the worker trains.
      secure = job.secureAggregation ? device.secureSession(job) : undefined
      // A secure round that goes on without this phone needs no more of its training.
      secure?.signal.addEventListener(
        'abort',
        () => {
          leftBehind = (secure?.signal.reason as Error | undefined)?.message ?? 'left behind'
          controller.abort(secure?.signal.reason)
        },
        { once: true },
      )
      const resumedFrom = saved?.checkpoint.step ?? null
      set({
        type: 'training',
        backend: workBackend,
        taskId: job.taskId,
        taskName,
        round: job.round,
        progress: null,
        resumedFrom,
        firstStep: null,
      })
      const weights = await device.model(job)
      const totalSteps = plannedSteps(job.plan, examples.count)
      // The same time for a resumed round: its assignment (and deadline) came with the checkpoint.
      const stopAt = partialWorkStop(job)
      trained = await trainer.train({
        spec: job.model.spec,
        weights,
        plan: job.plan,
        examples,
        signal: controller.signal,
        ...(saved ? { resumeFrom: saved.checkpoint } : {}),
        ...(stopAt !== undefined ? { stopAt } : {}),
        checkpointEvery: checkpointEvery(totalSteps),
        onCheckpoint: async (checkpoint) => {
          await saveCheckpoint(db, {
            taskId: job.taskId,
            taskName,
            assignment: job,
            exampleCount: examples.count,
            checkpoint,
            backend: workBackend,
            startedAt,
            savedAt: now(),
          })
        },
        onProgress: (progress) => {
          if (state.type === 'training')
            set({ ...state, progress, firstStep: state.firstStep ?? progress.step })
        },
      })
      set({
        type: 'uploading',
        backend: workBackend,
        taskId: job.taskId,
        taskName,
        round: job.round,
      })
      if (secure) {
        // Only the masked update leaves the phone; it cannot wait in the outbox, because the
        // round unmasks the sum with this phone's help, online, before its deadline.
        const ended = await secure.submit(
          privatized(job, trained.delta),
          updateMetadata(job, trained),
        )
        secure = undefined
        await deleteCheckpoint(db, job.taskId)
        const record: HistoryRecord = {
          taskId: job.taskId,
          taskName,
          round: job.round,
          outcome: ended.answer?.type ?? 'failed',
          detail:
            ended.outcome === 'done'
              ? 'Securely aggregated: the coordinator learnt only the sum of the round’s updates.'
              : `Secure aggregation ${ended.outcome}${ended.reason ? `: ${ended.reason}` : ''}.`,
          examples: trained.examples,
          steps: trained.steps,
          bytesSent: ended.bytes,
          backend: workBackend,
          startedAt,
          finishedAt: now(),
        }
        assignment = null
        record.id = await recordRound(db, record)
        options.onRound?.(record)
        return 0
      }
      const body = encodeUpdate(job, trained)
      // Stored before it is sent: a lost network or a closed page does not lose the round.
      await queueUpload(db, {
        key: uploadKey(job.taskId, job.round),
        taskId: job.taskId,
        taskName,
        round: job.round,
        uploadUrl: job.uploadUrl,
        deadlineAt: Date.parse(job.deadline),
        body: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
        examples: trained.examples,
        steps: trained.steps,
        backend: workBackend,
        startedAt,
        queuedAt: now(),
        attempts: 0,
        claimedUntil: 0,
      })
      assignment = null // its history is the outbox's to write now
      return (await flush()) > 0 ? OFFLINE_RETRY_MS : 0
    } catch (error) {
      if (error instanceof ProtocolError && error.status === 401) {
        // The coordinator no longer knows this install (a new data dir): enrol again.
        await clearEnrolment(db)
        return 0
      }
      // Stopped by the owner or a condition: the history says so; look again at once.
      if (stop.aborted || controller.signal.aborted) return 0
      // A checkpoint that cannot be resumed (damaged, or from another plan) would fail the same
      // way every pass: drop it, and the next pass trains the round from its start.
      if (saved) await deleteCheckpoint(db, saved.taskId)
      set({ type: 'error', message: error instanceof Error ? error.message : String(error) })
      throw error
    } finally {
      secure?.stop()
      stop.removeEventListener('abort', abort)
      current = null
      if (assignment) {
        const stopped = controller.signal.aborted
        // The contributor stopping (the page closing) does not end the round: its checkpoint
        // resumes it. A withdrawal already deleted the checkpoint; a pause keeps it.
        if (!stop.aborted) {
          const record: HistoryRecord = {
            taskId: assignment.taskId,
            taskName,
            round: assignment.round,
            outcome: stopped ? 'stopped' : 'failed',
            examples: trained?.examples ?? 0,
            steps: trained?.steps ?? 0,
            bytesSent: 0,
            backend: workBackend,
            startedAt,
            finishedAt: now(),
            detail: leftBehind
              ? `The secure round went on without this phone: ${leftBehind}.`
              : stopped
                ? 'Stopped: you withdrew or paused the task, or a condition stopped holding.'
                : 'Training or sending the update failed; Pollen tries again.',
          }
          record.id = await recordRound(db, record)
          options.onRound?.(record)
        }
      }
    }
  }

  async function loop(stop: AbortSignal): Promise<void> {
    let failures = 0
    while (!stop.aborted) {
      let pause: number
      try {
        pause = await step(stop)
        failures = 0
      } catch {
        failures += 1
        pause = Math.min(60_000, 2000 * 2 ** failures)
      }
      if (stop.aborted) break
      // Infinity: nothing can happen until a consent or a condition changes.
      if (pause > 0) await wait(Number.isFinite(pause) ? pause : 60_000, stop)
    }
  }

  return {
    tasks,
    /** Starts the loop (idempotent). */
    start(): void {
      if (running) return
      stopper = new AbortController()
      const stop = stopper.signal
      // The network coming back sends queued updates at once.
      const unsubscribe = [
        consents.subscribe(onChange),
        conditions.subscribe(onChange),
        (options.onOnline ?? windowOnline)(() => kick?.()),
      ]
      running = loop(stop).finally(() => {
        unsubscribe.forEach((u) => u())
        running = null
      })
    },
    /** Looks again now (updates were sent elsewhere, say by the service worker). */
    wake(): void {
      kick?.()
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

const EMPTY: Examples = { count: 0, pixels: new Uint8Array(0), labels: new Uint8Array(0) }
const NO_TRAINER: Trainer = {
  train: () => Promise.reject(new Error('no trainer yet')),
}
