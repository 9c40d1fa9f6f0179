import { noParticipation, type Participation } from '../../shared/protocol/index.ts'
import type { AssignmentRecord, RoundRecord } from '../store/index.ts'
import type { ClaimBound } from '../rounds/claims.ts'
import type { RoundPhase } from '../rounds/live.ts'

// TEMPORARY: the same mapping as server/store/pglite.ts's, until the store's row mappers are
// shared by its two implementations (pg-store); then this file goes and those are imported.

/** camelCase record field → snake_case column. */
export const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const JSON_COLUMNS = new Set([
  'participation',
  'accuracyByLabel',
  'confusion',
  'staleness',
  'updateBounds',
  'privacySpent',
  'spec',
  'claim',
])
/** A field's value as a query parameter: JSON text for a jsonb column, SQL null for null. */
export const param = ([k, v]: [string, unknown]): unknown =>
  JSON_COLUMNS.has(k) && v !== null ? JSON.stringify(v) : v

/** `a = $n, b = $n+1` for a patch's defined fields, with their values. */
export function setClause(patch: Record<string, unknown>, firstParam: number) {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined)
  return {
    sql: entries.map(([k], i) => `${column(k)} = $${firstParam + i}`).join(', '),
    values: entries.map(param),
  }
}

/** `(a, b) values ($1, $2)` for a record's fields, with their values. */
export function insertClause(record: object) {
  const entries = Object.entries(record)
  return {
    sql: `(${entries.map(([k]) => column(k)).join(', ')}) values (${entries.map((_, i) => `$${i + 1}`).join(', ')})`,
    values: entries.map(param),
  }
}

type Int8 = string | number
const num = (v: Int8 | null | undefined) => (v === null || v === undefined ? null : Number(v))

export interface RoundRow {
  task_id: string
  round: number
  status: RoundRecord['status']
  phase: RoundPhase
  base_model: string
  model: string | null
  selected: number
  reported: number
  late: number
  rejected: number
  dropped: number
  examples: Int8
  accuracy: number | null
  loss: number | null
  accuracy_by_label: (number | null)[] | null
  epsilon: number | null
  confusion: number[][] | null
  staleness: number[] | null
  training_loss: number | null
  update_bounds: RoundRecord['updateBounds']
  abandoned_reason: string | null
  first_assigned_at: Int8 | null
  started_at: Int8
  deadline_at: Int8 | null
  closed_at: Int8 | null
  bytes_up: Int8
  bytes_down: Int8
  participation: Participation | null
}

export interface AssignmentRow {
  task_id: string
  round: number
  device_id: string
  state: AssignmentRecord['state']
  examples: number
  assigned_at: Int8
  answered_at: Int8 | null
  backend: AssignmentRecord['backend']
  examples_per_second: number | null
  downloaded_at: Int8 | null
  bytes_up: Int8
  claim: ClaimBound | null
  replica_id: string | null
}

export const toRound = (r: RoundRow): RoundRecord & { phase: RoundPhase } => ({
  taskId: r.task_id,
  round: r.round,
  status: r.status,
  phase: r.phase,
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
  participation: { ...noParticipation(), ...r.participation },
})

export const toAssignment = (
  r: AssignmentRow,
): AssignmentRecord & { claim: ClaimBound | null } => ({
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
  claim: r.claim,
})
