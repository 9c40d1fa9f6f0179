import {
  noParticipation,
  type Participation,
  StoredTaskSpecSchema,
} from '../../shared/protocol/index.ts'
import type { AssignmentRecord, DeviceRecord, RoundRecord, TaskRecord } from './types.ts'

// Rows as both drivers return them: bigint columns may come back as strings (node-postgres
// does), so the mappers Number() them; jsonb comes back parsed.

const num = (v: string | number | null | undefined) =>
  v === null || v === undefined ? null : Number(v)

export interface TaskRow {
  id: string
  spec: TaskRecord['spec']
  status: TaskRecord['status']
  model_hash: string
  round: number
  committed_rounds: number
  optimizer_state: string | null
  privacy_spent: TaskRecord['privacySpent']
  stopped_reason: string | null
  created_at: string | number
  updated_at: string | number
  error: string | null
}
export interface RoundRow {
  task_id: string
  round: number
  status: RoundRecord['status']
  base_model: string
  model: string | null
  selected: number
  reported: number
  late: number
  rejected: number
  dropped: number
  examples: string | number
  accuracy: number | null
  loss: number | null
  /** Null when no evaluation ran, and in rows written before the column existed. */
  accuracy_by_label: (number | null)[] | null
  epsilon: number | null
  /** The next four are null in rows written before their columns existed. */
  confusion: number[][] | null
  staleness: number[] | null
  training_loss: number | null
  /** Null in rows written before the column existed, and for private tasks. */
  update_bounds: RoundRecord['updateBounds']
  abandoned_reason: string | null
  first_assigned_at: string | number | null
  started_at: string | number
  deadline_at: string | number | null
  closed_at: string | number | null
  bytes_up: string | number
  bytes_down: string | number
  /** The next two are null in rows written before their columns existed (migration 014). */
  bytes_up_by_codec: Record<string, number> | null
  bytes_down_by_encoding: Record<string, number> | null
  /** Null in rows written before the column existed. */
  participation: Participation | null
}
export interface DeviceRow {
  id: string
  token_hash: string
  label: string | null
  capabilities: DeviceRecord['capabilities']
  datasets: DeviceRecord['datasets']
  enrolled_at: string | number
  last_seen_at: string | number
}
export interface AssignmentRow {
  task_id: string
  round: number
  device_id: string
  state: AssignmentRecord['state']
  examples: number
  assigned_at: string | number
  answered_at: string | number | null
  backend: AssignmentRecord['backend']
  examples_per_second: number | null
  downloaded_at: string | number | null
  bytes_up: string | number
}

export const toTask = (r: TaskRow): TaskRecord => ({
  id: r.id,
  // Parsed again so that a task stored before a setting existed reads with its default.
  spec: StoredTaskSpecSchema.parse(r.spec),
  status: r.status,
  modelHash: r.model_hash,
  round: r.round,
  committedRounds: r.committed_rounds,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  error: r.error,
  optimizerState: r.optimizer_state,
  privacySpent: r.privacy_spent,
  stoppedReason: r.stopped_reason,
})
/** A jsonb object of byte counts (numbers, or numeric text as a cluster's sums may give). */
export const byteCounts = (json: Record<string, number | string> | null): Record<string, number> =>
  Object.fromEntries(Object.entries(json ?? {}).map(([k, v]) => [k, Number(v)]))

export const toRound = (r: RoundRow): RoundRecord => ({
  taskId: r.task_id,
  round: r.round,
  status: r.status,
  baseModel: r.base_model,
  model: r.model,
  selected: r.selected,
  reported: r.reported,
  late: r.late,
  rejected: r.rejected,
  dropped: r.dropped,
  examples: Number(r.examples),
  accuracy: r.accuracy,
  loss: r.loss,
  accuracyByLabel: r.accuracy_by_label,
  epsilon: r.epsilon,
  confusion: r.confusion,
  trainingLoss: r.training_loss,
  staleness: r.staleness,
  updateBounds: r.update_bounds,
  abandonedReason: r.abandoned_reason,
  startedAt: Number(r.started_at),
  firstAssignedAt: num(r.first_assigned_at),
  deadlineAt: num(r.deadline_at),
  closedAt: num(r.closed_at),
  bytesUp: Number(r.bytes_up),
  bytesDown: Number(r.bytes_down),
  bytesUpByCodec: byteCounts(r.bytes_up_by_codec),
  bytesDownByEncoding: byteCounts(r.bytes_down_by_encoding),
  // Rounds stored before a share existed read it as empty.
  participation: { ...noParticipation(), ...r.participation },
})
export const toDevice = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  tokenHash: r.token_hash,
  label: r.label,
  capabilities: r.capabilities,
  datasets: r.datasets,
  enrolledAt: Number(r.enrolled_at),
  lastSeenAt: Number(r.last_seen_at),
})
export const toAssignment = (r: AssignmentRow): AssignmentRecord => ({
  taskId: r.task_id,
  round: r.round,
  deviceId: r.device_id,
  state: r.state,
  examples: r.examples,
  assignedAt: Number(r.assigned_at),
  answeredAt: num(r.answered_at),
  backend: r.backend,
  examplesPerSecond: r.examples_per_second,
  downloadedAt: num(r.downloaded_at),
  bytesUp: Number(r.bytes_up),
})
