import type {
  CheckinAnswer,
  CheckinRequest,
  DeviceTaskView,
  RoundDeviceView,
  RoundView,
  TaskPatch,
  TaskSpec,
  TaskView,
  UploadAnswer,
} from '../../shared/protocol/index.ts'
import type { ModelSpec } from '../../shared/models/index.ts'
import type {
  KeysMessage,
  RevealMessage,
  SecAggView,
  SharesMessage,
} from '../../shared/secagg/index.ts'
import type { Clock } from '../clock/index.ts'
import type { DatasetDirectory } from '../datasets/index.ts'
import type { Evaluator } from '../evaluation/index.ts'
import type { EventBus } from '../events/index.ts'
import type { Health } from '../health/index.ts'
import type { Metrics } from '../metrics/index.ts'
import type { ModelInfo, ModelRegistry } from '../models/index.ts'
import type { DeviceRecord, Store, TaskRecord } from '../store/index.ts'
import type { Strategy } from '../strategy/index.ts'
import type { RetryDelays } from './retry.ts'

type MaybeAsync = void | Promise<void>

export interface SchedulerOptions {
  store: Store
  models: ModelRegistry
  evaluator: Evaluator
  /** The declared datasets: a task's classes and held-out set for its views. Default: mnist only. */
  datasets?: DatasetDirectory
  /**
   * One strategy for every task (tests that pin the aggregation). By default each task gets its
   * own, as its spec's `aggregation` asks, keeping its server optimizer's state.
   */
  strategy?: Strategy
  clock: Clock
  events: EventBus
  metrics: Metrics
  /** Bounds of the `retryAfterSeconds` answered to devices that are not selected. */
  retry?: { minSeconds: number; maxSeconds: number }
  random?: () => number
  log?: (message: string) => void
  /** Where a failing write is reported (/healthz), and how its retries are spaced. */
  health?: Health
  storageRetry?: Partial<RetryDelays>
}

/** What readBody gives back when the body grew past its limit (nothing past it is read). */
export const TOO_LARGE = 'too-large'

export interface UploadInput {
  device: DeviceRecord
  taskId: string
  round: number
  /**
   * Reads the request body: its bytes, or TOO_LARGE past `limit` bytes (and throws if it was cut
   * off, which records nothing).
   */
  readBody: (limit: number) => Promise<Uint8Array | typeof TOO_LARGE>
  /**
   * Gives a body readBody read back for the next upload, once nothing refers to its bytes
   * (server/api/body-pool.ts); left out, bodies are left to the garbage collector.
   */
  recycleBody?: (bytes: Uint8Array) => void
}

/** Why an upload was rejected, beyond what its answer says: the API's status follows from it. */
export type UploadProblem =
  /** The body passed the update's size limit. */
  | 'too-large'
  /** A secure round's stage does not take it now (or from this device). */
  | 'out-of-stage'
  /** The update itself is not one the round can take. */
  | 'invalid'

export interface UploadResult {
  answer: UploadAnswer
  /** Set on a `rejected` answer. */
  problem?: UploadProblem
}

export interface TaskModel {
  spec: ModelSpec
  hash: string
  info: ModelInfo
}

/** Gauges for /metrics, per task. */
export interface TaskGauges {
  id: string
  status: TaskRecord['status']
  selected: number
  reported: number
}

/**
 * The round scheduler: runs each task's rounds (sync rounds, or FedBuff's buffer), answers
 * devices, and keeps the store in step. Decisions are taken on in-memory state at once and
 * persisted in order through a per-task queue.
 */
export interface Scheduler {
  /** Loads tasks; re-opens rounds a crash left open; opens rounds for running tasks. */
  start(): Promise<void>
  /** Stops timers and waits for pending writes; the store stays open. */
  stop(): Promise<void>
  /** Resolves once no round is closing and every write decided so far is stored. */
  settled(): Promise<void>
  createTask(spec: TaskSpec): Promise<TaskView>
  patchTask(id: string, patch: TaskPatch): Promise<TaskView>
  deleteTask(id: string): Promise<void>
  getTask(id: string): TaskView
  listTasks(): TaskView[]
  checkin(device: DeviceRecord, request: CheckinRequest): Promise<CheckinAnswer>
  upload(input: UploadInput): Promise<UploadResult>
  /**
   * A device downloaded model `hash` (counted where it is the base of its open round): `bytes`
   * as sent, in `encoding` (float32, float16 or delta; absent: float32).
   */
  downloaded(device: DeviceRecord, hash: string, bytes: number, encoding?: string): void
  /** What SecAgg+ asks of this device now in round `n` (GET …/secagg). */
  /** (On replicas, each call reads the round's SecAgg+ log in the database: a promise.) */
  secureView(device: DeviceRecord, taskId: string, n: number): SecAggView | Promise<SecAggView>
  secureKeys(device: DeviceRecord, taskId: string, n: number, keys: KeysMessage): MaybeAsync
  secureShares(device: DeviceRecord, taskId: string, n: number, message: SharesMessage): MaybeAsync
  secureReveal(device: DeviceRecord, taskId: string, n: number, message: RevealMessage): MaybeAsync
  /** Every device selected in a round, with where it got to (the dashboard's timeline). */
  roundDevices(id: string, n: number): Promise<RoundDeviceView[]>
  /** The tasks phones are told of: on offer and ended. */
  deviceTasks(): Promise<DeviceTaskView[]>
  listRounds(id: string): Promise<RoundView[]>
  /** The model a committed round of a task made. */
  roundModel(id: string, n: number): Promise<TaskModel>
  /** The current global model of a task. */
  currentModel(id: string): TaskModel
  snapshot(): TaskGauges[]
}

/** One process's scheduler: its SecAgg+ calls answer at once, from memory. */
export interface LocalScheduler extends Scheduler {
  secureView(device: DeviceRecord, taskId: string, n: number): SecAggView
  secureKeys(device: DeviceRecord, taskId: string, n: number, keys: KeysMessage): void
  secureShares(device: DeviceRecord, taskId: string, n: number, message: SharesMessage): void
  secureReveal(device: DeviceRecord, taskId: string, n: number, message: RevealMessage): void
}
