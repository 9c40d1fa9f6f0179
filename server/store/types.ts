import type {
  Backend,
  DatasetSpec,
  Capabilities,
  DatasetHeld,
  Participation,
  RoundStatus,
  UpdateBounds,
  TaskSpec,
  TaskStatus,
} from '../../shared/protocol/index.ts'

export interface TaskRecord {
  id: string
  spec: TaskSpec
  status: TaskStatus
  /** Hash of the current global model (a blob). */
  modelHash: string
  round: number
  committedRounds: number
  createdAt: number
  updatedAt: number
  error: string | null
  /** Hash of the server optimizer's state after the last commit (a blob), if it keeps one. */
  optimizerState: string | null
  /**
   * A private task's spending: the accountant's RDP at each order, summed over its committed
   * rounds, and the ε that is at the task's δ. Null for a task without differential privacy.
   */
  privacySpent: PrivacySpent | null
  /** Why a task completed before its rounds were done (its privacy budget), else null. */
  stoppedReason: string | null
}

export interface PrivacySpent {
  rdp: number[]
  epsilon: number
}

export interface RoundRecord {
  taskId: string
  round: number
  status: RoundStatus
  baseModel: string
  model: string | null
  selected: number
  reported: number
  late: number
  rejected: number
  dropped: number
  examples: number
  accuracy: number | null
  loss: number | null
  /** Held-out accuracy per label (index = label, null for a label with no held-out examples). */
  accuracyByLabel: (number | null)[] | null
  /** Held-out examples by true label (row) and predicted class (column); null if not evaluated. */
  confusion: number[][] | null
  /**
   * The example-weighted mean of the training loss the accepted reports carried (null: none
   * said): what the devices saw on their own data, beside the held-out loss.
   */
  trainingLoss: number | null
  /**
   * An async task's round: the updates it applied counted by staleness (index = rounds behind
   * the one they joined); null for a synchronous round, or one that applied none.
   */
  staleness: number[] | null
  /** A private task's ε spent after this round (at its δ); null without differential privacy. */
  epsilon: number | null
  /** The norm and weight bounds its updates went through, and how many each changed. */
  updateBounds: UpdateBounds | null
  /** Why it was abandoned; null for an open or committed round. */
  abandonedReason: string | null
  startedAt: number
  /**
   * When the round's first device was assigned (null: none yet). Before it the round waits
   * for devices; after it, they train (a synchronous round's deadline starts here).
   */
  firstAssignedAt: number | null
  deadlineAt: number | null
  closedAt: number | null
  bytesUp: number
  bytesDown: number
  /** bytesUp by the codec each upload's container named (`masked`, `unreadable`: see views). */
  bytesUpByCodec: ByteCounts
  /** bytesDown by the encoding each model went in (float32: the model's own container). */
  bytesDownByEncoding: ByteCounts
  participation: Participation
}

/** Bytes by codec or encoding: their values add up to the round's total. */
export type ByteCounts = Record<string, number>

/** A round's traffic by codec as it opens: fresh objects, never shared between rounds. */
export const freshTraffic = (): Pick<RoundRecord, 'bytesUpByCodec' | 'bytesDownByEncoding'> => ({
  bytesUpByCodec: {},
  bytesDownByEncoding: {},
})

/** A round's counters as it opens (or re-opens after a crash): nothing selected, nothing in. */
export const FRESH_ROUND = {
  selected: 0,
  reported: 0,
  late: 0,
  rejected: 0,
  dropped: 0,
  examples: 0,
  firstAssignedAt: null,
  staleness: null,
  updateBounds: null,
  abandonedReason: null,
  deadlineAt: null,
  closedAt: null,
  bytesUp: 0,
  bytesDown: 0,
} as const satisfies Partial<RoundRecord>

export interface DeviceRecord {
  id: string
  tokenHash: string
  label: string | null
  capabilities: Capabilities | null
  datasets: DatasetHeld[]
  enrolledAt: number
  lastSeenAt: number
}

export const ASSIGNMENT_STATES = ['assigned', 'reported', 'late', 'rejected'] as const
export type AssignmentState = (typeof ASSIGNMENT_STATES)[number]

export interface AssignmentRecord {
  taskId: string
  round: number
  deviceId: string
  state: AssignmentState
  examples: number
  assignedAt: number
  answeredAt: number | null
  /** As the device said at the check-in that selected it. */
  backend: Backend | null
  examplesPerSecond: number | null
  /** When it downloaded the round's model (null: not yet, or it had it). */
  downloadedAt: number | null
  /** Bytes of its update, once read. */
  bytesUp: number
}

/** A dataset's held-out set: a blob (server/datasets/blob.ts) and the counts shown without it. */
export interface HeldOutRecord {
  hash: string
  examples: number
  /** Examples per label (index = label). */
  labels: number[]
  uploadedAt: number
}

/** A declared dataset: its spec as the data scientist gave it (PATCH changes only its words). */
export interface DatasetRecord {
  name: string
  spec: DatasetSpec
  createdAt: number
  updatedAt: number
  heldOut: HeldOutRecord | null
}

type Patch<T, K extends keyof T> = Partial<Omit<T, K>>

/**
 * Everything the coordinator persists except blobs. One implementation per database; the
 * same suite (store.case.ts) runs against each.
 */
export interface Store {
  insertTask(task: TaskRecord): Promise<void>
  getTask(id: string): Promise<TaskRecord | undefined>
  listTasks(): Promise<TaskRecord[]>
  updateTask(id: string, patch: Patch<TaskRecord, 'id' | 'createdAt'>): Promise<void>
  /** Removes the task with its rounds and assignments. */
  deleteTask(id: string): Promise<boolean>

  /** Inserts a new open round and makes it the task's current round, atomically. */
  openRound(round: RoundRecord): Promise<void>
  updateRound(
    taskId: string,
    round: number,
    patch: Patch<RoundRecord, 'taskId' | 'round'>,
  ): Promise<void>
  listRounds(taskId: string): Promise<RoundRecord[]>
  /** Rounds left `open` (by a crash, say), across tasks. */
  listOpenRounds(): Promise<RoundRecord[]>

  /** Closes a round and moves its task on, atomically: both happen or neither. */
  closeRound(input: {
    round: Pick<RoundRecord, 'taskId' | 'round'> & Patch<RoundRecord, 'taskId' | 'round'>
    task: Patch<TaskRecord, 'id' | 'createdAt'>
  }): Promise<void>
  /** Starts an open round afresh: counters zeroed, assignments forgotten, atomically. */
  resetRound(taskId: string, round: number, startedAt: number): Promise<void>

  insertDevice(device: DeviceRecord): Promise<void>
  getDeviceByTokenHash(tokenHash: string): Promise<DeviceRecord | undefined>
  updateDevice(
    id: string,
    patch: Patch<DeviceRecord, 'id' | 'tokenHash' | 'enrolledAt'>,
  ): Promise<void>
  listDevices(): Promise<DeviceRecord[]>

  insertAssignment(assignment: AssignmentRecord): Promise<void>
  updateAssignment(
    key: Pick<AssignmentRecord, 'taskId' | 'round' | 'deviceId'>,
    patch: Partial<
      Pick<AssignmentRecord, 'state' | 'examples' | 'answeredAt' | 'downloadedAt' | 'bytesUp'>
    >,
  ): Promise<void>
  listAssignments(taskId: string, round: number): Promise<AssignmentRecord[]>
  getAssignment(
    key: Pick<AssignmentRecord, 'taskId' | 'round' | 'deviceId'>,
  ): Promise<AssignmentRecord | undefined>
  /**
   * A device of a closed round uploads after all: marks its assignment late and counts it in
   * the round, atomically, if it was still only assigned. True when it did.
   */
  markLate(
    key: Pick<AssignmentRecord, 'taskId' | 'round' | 'deviceId'>,
    at: number,
  ): Promise<boolean>

  /** A dataset's name is its key: inserting one that exists fails. */
  insertDataset(dataset: DatasetRecord): Promise<void>
  getDataset(name: string): Promise<DatasetRecord | undefined>
  listDatasets(): Promise<DatasetRecord[]>
  updateDataset(
    name: string,
    patch: Partial<Pick<DatasetRecord, 'spec' | 'updatedAt' | 'heldOut'>>,
  ): Promise<void>
  deleteDataset(name: string): Promise<boolean>

  close(): Promise<void>
}
