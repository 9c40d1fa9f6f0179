import type {
  Assignment,
  RoundSettings,
  TaskView,
  TrainSettings,
  UpdateBounds,
} from '../../shared/protocol/index.ts'
import type { TimerHandle } from '../clock/index.ts'
import { MNIST_DATASET } from '../../shared/protocol/index.ts'
import type { DatasetDirectory } from '../datasets/index.ts'
import type { Evaluator } from '../evaluation/index.ts'
import { createHealth, type Health } from '../health/index.ts'
import type { ModelInfo, ModelRegistry } from '../models/index.ts'
import { PollenError } from '../errors.ts'
import type {
  AssignmentState,
  DeviceRecord,
  RoundRecord,
  Store,
  TaskRecord,
} from '../store/index.ts'
import type { RoundAggregation, Strategy } from '../strategy/index.ts'
import type { DeviceState } from '../../shared/protocol/index.ts'

/** An assignment's key in the store: a device in a round of a task. */
type AssignmentKey = { taskId: string; round: number; deviceId: string }
import type { ClaimBound } from './claims.ts'
import type { RetryDelays } from './retry.ts'
import type { SecureRound } from './secure.ts'
import type { SchedulerOptions, UploadInput, UploadResult } from './types.ts'
import { roundView, taskView } from './views.ts'

/**
 * Where a round is (transitions.ts moves it on): `open` until its first device is selected,
 * `selecting` while devices join and report, `closing` while it commits, then `committed` or
 * `abandoned`. Only open and selecting rounds take devices and updates.
 */
export type RoundPhase = 'open' | 'selecting' | 'closing' | 'committed' | 'abandoned'

export interface LiveRound {
  record: RoundRecord
  phase: RoundPhase
  settings: RoundSettings
  /** Hyperparameters for this round's devices; a PATCH applies from the next round. */
  train: TrainSettings
  info: ModelInfo
  /** The task's strategy's aggregation of this round (bounds, privacy and staleness included). */
  aggregation: RoundAggregation
  /** Tasks with secure aggregation: the round's SecAgg+ stages. */
  secure: SecureRound | undefined
  /** What each assigned device's update may claim (sync rounds; an async policy keeps its own). */
  claims: Map<string, ClaimBound>
  /** A private task's sampling rate for this round, fixed as it opens (what the accountant charges). */
  sampling: number
  devices: Map<string, AssignmentState>
  /** The accepted reports' training loss, weighted by their examples, and those examples. */
  trainingLoss: { sum: number; examples: number }
  timer: TimerHandle | undefined
  /** When the round's counters were last queued for the store (persistRound). */
  countersQueuedAt?: number
}

/** Whether a round still takes devices and updates. */
export const accepting = (round: LiveRound) => round.phase === 'open' || round.phase === 'selecting'

export interface LiveTask {
  record: TaskRecord
  info: ModelInfo
  /** A private task's eligible population, for its sampling rate (counted as rounds close). */
  population: number
  /** Secure rounds by number, kept a little after they close so devices can read the outcome. */
  secureRounds: Map<number, SecureRound>
  /** The task's strategy, wrapped with its bounds, privacy and staleness weighting. */
  strategy: Strategy
  /** Sync rounds or FedBuff: what differs between them. */
  policy: RoundPolicy
  open: LiveRound | undefined
  /** The bounds the last committed round applied: an adaptive bound rises from them gradually. */
  bounds: UpdateBounds | null
  /** Writes for this task, in the order they were decided. */
  queue: Promise<void>
}

/**
 * How a task's rounds run: sync rounds (a deadline, minReports, secure aggregation) or FedBuff's
 * buffer (devices at work across versions, staleness). Nothing outside policy/ asks which.
 */
export interface RoundPolicy {
  /** A round begins (opened, or re-opened after a restart): its mode's own state. */
  begin(live: LiveTask, round: LiveRound): void
  /** The round's first device was selected. */
  selectionStarted(live: LiveTask, round: LiveRound): void
  /** Before a check-in is decided: devices past their time give up their slot. */
  beforeCheckin(live: LiveTask, now: number): void
  /** The assignment a device already holds in this mode's own books (asked again), if any. */
  resume(deviceId: string): Assignment | undefined
  /** How full the task's work is: under 1 takes another device. */
  load(live: LiveTask, round: LiveRound): number
  /** Whether `deviceId` may be selected (again) in `round`. */
  mayJoin(round: LiveRound, deviceId: string): boolean
  /** When an assignment handed out now must be in. */
  deadlineAt(round: LiveRound, now: number): number
  /** A device was selected and given `answer`: what its update may claim is kept. */
  selected(round: LiveRound, device: DeviceRecord, answer: Assignment, claim: ClaimBound): void
  /** The round closes: why it cannot commit (counting its drops), or null to commit. */
  closing(live: LiveTask, round: LiveRound): Promise<string | null>
  /** An upload to round `n` of the task. */
  upload(live: LiveTask, input: UploadInput): Promise<UploadResult>
  /** The task's strategy with this mode's wrapper (FedBuff: staleness weighting). */
  wrap(strategy: Strategy, live: Pick<LiveTask, 'record'>): Strategy
}

/** What every part of the scheduler shares: its dependencies, the live tasks, the write queue. */
export interface Core {
  store: Store
  models: ModelRegistry
  evaluator: Evaluator
  /** What a task's dataset declares (its classes) and whether it has a held-out set. */
  datasets: DatasetDirectory
  /** The class names of the task's dataset, by label (empty for a dataset not declared). */
  classesOf(live: LiveTask): readonly string[]
  clock: SchedulerOptions['clock']
  events: SchedulerOptions['events']
  metrics: SchedulerOptions['metrics']
  log: (message: string) => void
  health: Health
  storageRetry: Partial<RetryDelays> | undefined
  /** Aborted by stop(): ends the retries of writes that wait for the store. */
  stopping: AbortSignal
  tasks: Map<string, LiveTask>
  /** Queues a write for the task, after those decided before it; a failure is logged. */
  enqueue(live: LiveTask, write: () => Promise<unknown>): Promise<void>
  /** Queues the open round's counters (a copy: the record changes while the write waits). */
  persistRound(live: LiveTask, round: LiveRound): Promise<void>
  publishRound(live: LiveTask, round: LiveRound): void
  /**
   * A device's assignment in the open round moved on (downloaded, reported, rejected): its row
   * queued, with the round's counters where they were last queued COUNTERS_INTERVAL_MS ago or
   * more, then `device.state` and `round.updated` published.
   */
  assignmentMoved(
    live: LiveTask,
    round: LiveRound,
    key: AssignmentKey,
    state: DeviceState,
    patch: Parameters<Store['updateAssignment']>[1],
  ): void
  view(live: LiveTask): TaskView
  /** The live task, or a 404. */
  liveTask(id: string): LiveTask
}

/**
 * The open round's counters are stored at most this often as its devices download and report
 * (and with every selection, and whole as it closes): in memory they are exact, and what the API
 * shows; in the store they are what a crash leaves, and a crash resets an open round anyway.
 * Written per upload they were half of its embedded-database writes (docs/BENCHMARKS.md, "Ingest").
 */
export const COUNTERS_INTERVAL_MS = 1000

export function createCore(options: SchedulerOptions, stopping: AbortSignal): Core {
  const { store, clock, events } = options
  const log = options.log ?? (() => {})
  const tasks = new Map<string, LiveTask>()

  function enqueue(live: LiveTask, write: () => Promise<unknown>): Promise<void> {
    const next = live.queue.then(write).then(
      () => undefined,
      (error: unknown) => log(`store write for task ${live.record.id} failed: ${String(error)}`),
    )
    live.queue = next
    return next
  }

  function persistRound(live: LiveTask, round: LiveRound) {
    const { taskId, round: n, selected, reported, late, rejected, examples } = round.record
    const { firstAssignedAt, deadlineAt, bytesUp, bytesDown, participation, updateBounds } =
      round.record
    const patch = {
      ...{ selected, reported, late, rejected, examples, firstAssignedAt, deadlineAt },
      ...{ bytesUp, bytesDown, updateBounds: updateBounds && { ...updateBounds } },
      bytesUpByCodec: { ...round.record.bytesUpByCodec },
      bytesDownByEncoding: { ...round.record.bytesDownByEncoding },
    }
    // A copy: the record goes on changing while the write waits in the queue.
    const shares = structuredClone(participation)
    round.countersQueuedAt = clock.now()
    return enqueue(live, () => store.updateRound(taskId, n, { ...patch, participation: shares }))
  }

  const datasets = options.datasets ?? builtInOnly
  const classesOf = (live: LiveTask) => datasets.spec(live.record.spec.dataset)?.classes ?? []

  function publishRound(live: LiveTask, round: LiveRound) {
    events.publish({
      type: 'round.updated',
      taskId: live.record.id,
      round: roundView(round.record, classesOf(live)),
    })
  }

  return {
    store,
    models: options.models,
    evaluator: options.evaluator,
    datasets,
    classesOf,
    clock,
    events,
    metrics: options.metrics,
    log,
    health: options.health ?? createHealth({ clock }),
    storageRetry: options.storageRetry,
    stopping,
    tasks,
    enqueue,
    persistRound,
    publishRound,
    assignmentMoved(live, round, key, state, patch) {
      void enqueue(live, () => store.updateAssignment(key, patch))
      const since = clock.now() - (round.countersQueuedAt ?? Number.NEGATIVE_INFINITY)
      if (!(since < COUNTERS_INTERVAL_MS)) void persistRound(live, round)
      const { taskId, round: n, deviceId } = key
      events.publish({ type: 'device.state', deviceId, state, taskId, round: n })
      publishRound(live, round)
    },
    view: (live) =>
      taskView(live.record, live.info, live.population, {
        classes: classesOf(live),
        heldOut: datasets.heldOut(live.record.spec.dataset),
      }),
    liveTask(id) {
      const live = tasks.get(id)
      if (!live) throw new PollenError('not_found', `no task ${id}`, 'id')
      return live
    },
  }
}

/** Without the coordinator's datasets (unit tests): the built-in MNIST, with no held-out set. */
const builtInOnly: DatasetDirectory = {
  spec: (name) => (name === MNIST_DATASET.name ? MNIST_DATASET : undefined),
  heldOut: () => null,
}
