import type { Examples } from '../../../shared/data/index.ts'
import type { Assignment, Backend, DeviceTaskView } from '../../../shared/protocol/index.ts'
import { createDevice, type DeviceEvent, ProtocolError } from '../../device/runtime.ts'
import type { Trainer, TrainJob, TrainOutcome } from '../../device/trainer.ts'
import { recordRound } from '../history/store.ts'
import {
  type ConsentRecord,
  type HistoryRecord,
  type PollenDatabase,
  readExamples,
} from '../storage/index.ts'
import { type ConditionSource, unmetConditions } from '../tasks/conditions.ts'
import type { ConsentStore } from '../tasks/consent.ts'
import { clearEnrolment, type Enrolment, loadEnrolment, saveEnrolment } from './enrolment.ts'

/** Progress of local training, as the training worker reports it. */
export interface TrainProgress {
  step: number
  totalSteps: number
  loss: number
}

/** What the phone's trainer is: the runtime's `Trainer`, set up once, reporting progress. */
export interface AppTrainer extends Trainer {
  /** Picks the TF.js backend (WebGPU, WASM, CPU) and says which. */
  init?(): Promise<{ backend: Backend }>
  train(job: TrainJob & { onProgress?: (progress: TrainProgress) => void }): Promise<TrainOutcome>
}

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
    }
  | { type: 'uploading'; backend: Backend; taskId: string; taskName: string; round: number }
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

  /** The tasks the coordinator offers, for the owner to weigh (enrols first if needed). */
  async function tasks(): Promise<DeviceTaskView[]> {
    const device = createDevice({
      ...base(),
      examples: EMPTY,
      backend: backend ?? 'cpu',
      enrolment: await enrolment(),
    })
    try {
      return await device.tasks()
    } catch (error) {
      if (error instanceof ProtocolError && error.status === 401) {
        await clearEnrolment(db)
        return tasks()
      }
      throw error
    }
  }

  /** One pass: check in once, and do the work if any. Returns how long to wait before the next. */
  async function step(stop: AbortSignal): Promise<number> {
    const granted = await consents.granted()
    if (granted.length === 0) {
      set({ type: 'idle', reason: 'Join a task on this screen to contribute.' })
      return Infinity
    }
    const signals = conditions.read()
    const ready = granted.filter((c) => unmetConditions(c.conditions, signals).length === 0)
    if (ready.length === 0) {
      const why = [...new Set(granted.flatMap((c) => unmetConditions(c.conditions, signals)))]
      set({ type: 'idle', reason: `Waiting: ${why.join('; ')}.` })
      return Infinity
    }
    // One dataset at a time: the first agreed task's whose examples are stored.
    let examples: Examples | null = null
    let dataset = ''
    for (const name of new Set(ready.map((c) => c.dataset))) {
      const held = await readExamples(db, name)
      if (held.count > 0) {
        examples = held
        dataset = name
        break
      }
    }
    if (!examples) {
      set({
        type: 'idle',
        reason: 'No examples stored for the tasks you joined: load or add some on the Data screen.',
      })
      return Infinity
    }
    if (!trainer) {
      set({ type: 'starting' })
      const made = await options.trainer()
      backend = (await made.init?.())?.backend ?? 'cpu'
      trainer = made
    }
    const workBackend = backend ?? 'cpu'
    const forDataset = new Set(ready.filter((c) => c.dataset === dataset).map((c) => c.taskId))
    const controller = new AbortController()
    const abort = () => controller.abort(stop.reason)
    stop.addEventListener('abort', abort)
    const work: NonNullable<typeof current> = { taskIds: forDataset, controller }
    current = work
    let trained: Extract<DeviceEvent, { type: 'trained' }> | null = null
    let uploaded: Extract<DeviceEvent, { type: 'uploaded' }> | null = null
    let assignment: Assignment | null = null
    let taskName = ''
    let startedAt = now()
    const progressTrainer: Trainer = {
      train: (job: TrainJob) =>
        trainer!.train({
          ...job,
          onProgress: (progress) => {
            if (state.type === 'training') set({ ...state, progress })
          },
        }),
    }
    const device = createDevice({
      ...base(),
      trainer: progressTrainer,
      examples,
      dataset,
      backend: workBackend,
      enrolment: await enrolment(),
      signal: controller.signal,
      // Read at the check-in itself: a withdrawal a moment before is already honoured.
      consents: async () =>
        (await readyConsents()).filter((c) => forDataset.has(c.taskId)).map((c) => c.taskId),
      onEvent: (event) => {
        if (event.type === 'trained') {
          trained = event
          set({
            type: 'uploading',
            backend: workBackend,
            taskId: event.taskId,
            taskName,
            round: event.round,
          })
        }
        if (event.type === 'uploaded') uploaded = event
      },
    })
    try {
      set({ type: 'checking-in', backend: workBackend })
      const answer = await device.checkin()
      if (answer.type === 'none') {
        set({ type: 'idle', reason: `Nothing to do now: ${answer.reason}.` })
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
      work.taskId = answer.taskId
      taskName = ready.find((c) => c.taskId === answer.taskId)?.taskName ?? answer.taskId
      startedAt = now()
      set({
        type: 'training',
        backend: workBackend,
        taskId: answer.taskId,
        taskName,
        round: answer.round,
        progress: null,
      })
      await device.work(answer)
      return 0
    } catch (error) {
      if (error instanceof ProtocolError && error.status === 401) {
        // The coordinator no longer knows this install (a new data dir): enrol again.
        await clearEnrolment(db)
        return 0
      }
      // Stopped by the owner or a condition: the history says so; look again at once.
      if (stop.aborted || controller.signal.aborted) return 0
      set({ type: 'error', message: error instanceof Error ? error.message : String(error) })
      throw error
    } finally {
      stop.removeEventListener('abort', abort)
      current = null
      if (assignment) {
        const t = trained as Extract<DeviceEvent, { type: 'trained' }> | null
        const u = uploaded as Extract<DeviceEvent, { type: 'uploaded' }> | null
        const answer = u?.answer
        const record: HistoryRecord = {
          taskId: assignment.taskId,
          taskName,
          round: assignment.round,
          outcome: answer ? answer.type : controller.signal.aborted ? 'stopped' : 'failed',
          examples: t?.examples ?? 0,
          steps: t?.steps ?? 0,
          bytesSent: u?.bytes ?? 0,
          backend: workBackend,
          startedAt,
          finishedAt: now(),
        }
        const detail =
          answer && 'message' in answer
            ? answer.message
            : controller.signal.aborted
              ? 'Stopped: you withdrew or paused the task, or a condition stopped holding.'
              : undefined
        if (detail) record.detail = detail
        record.id = await recordRound(db, record)
        options.onRound?.(record)
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
      const unsubscribe = [consents.subscribe(onChange), conditions.subscribe(onChange)]
      running = loop(stop).finally(() => {
        unsubscribe.forEach((u) => u())
        running = null
      })
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

const EMPTY: Examples = { count: 0, pixels: new Uint8Array(0), labels: new Uint8Array(0) }
const NO_TRAINER: Trainer = {
  train: () => Promise.reject(new Error('no trainer yet')),
}
