import { PGlite, type Transaction } from '@electric-sql/pglite'
import {
  noParticipation,
  type Participation,
  StoredTaskSpecSchema,
} from '../../shared/protocol/index.ts'
import {
  FRESH_ROUND,
  type AssignmentRecord,
  type DeviceRecord,
  type RoundRecord,
  type Store,
  type TaskRecord,
} from './types.ts'
import { pgliteDatasets } from './pglite-datasets.ts'
import { migrate } from './migrate.ts'
import type { Database, Sql } from './sql.ts'

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction

/** camelCase record field → snake_case column, for the fields a patch may name. */
const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const JSON_COLUMNS = new Set([
  'spec',
  'capabilities',
  'datasets',
  'participation',
  'accuracyByLabel',
  'confusion',
  'staleness',
  'updateBounds',
  'privacySpent',
])
/** A field's value as a query parameter: JSON text for a jsonb column, SQL null for null. */
const param = ([k, v]: [string, unknown]): unknown =>
  JSON_COLUMNS.has(k) && v !== null ? JSON.stringify(v) : v

function setClause(patch: Record<string, unknown>, firstParam: number) {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined)
  return {
    sql: entries.map(([k], i) => `${column(k)} = $${firstParam + i}`).join(', '),
    values: entries.map(param),
    empty: entries.length === 0,
  }
}

async function update(
  db: Queryable,
  table: string,
  patch: Record<string, unknown>,
  where: Record<string, unknown>,
) {
  const set = setClause(patch, 1)
  if (set.empty) return
  const keys = Object.entries(where)
  const condition = keys
    .map(([k], i) => `${column(k)} = $${set.values.length + 1 + i}`)
    .join(' and ')
  await db.query(`update ${table} set ${set.sql} where ${condition}`, [
    ...set.values,
    ...keys.map(([, v]) => v),
  ])
}

async function insert(db: Queryable, table: string, record: object) {
  const entries = Object.entries(record)
  await db.query(
    `insert into ${table} (${entries.map(([k]) => column(k)).join(', ')}) values (${entries.map((_, i) => `$${i + 1}`).join(', ')})`,
    entries.map(param),
  )
}

const num = (v: string | number | null | undefined) =>
  v === null || v === undefined ? null : Number(v)

interface TaskRow {
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
interface RoundRow {
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
  /** Null in rows written before the column existed. */
  participation: Participation | null
}
interface DeviceRow {
  id: string
  token_hash: string
  label: string | null
  capabilities: DeviceRecord['capabilities']
  datasets: DeviceRecord['datasets']
  enrolled_at: string | number
  last_seen_at: string | number
}
interface AssignmentRow {
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

const toTask = (r: TaskRow): TaskRecord => ({
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
const toRound = (r: RoundRow): RoundRecord => ({
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
  // Rounds stored before a share existed read it as empty.
  participation: { ...noParticipation(), ...r.participation },
})
const toDevice = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  tokenHash: r.token_hash,
  label: r.label,
  capabilities: r.capabilities,
  datasets: r.datasets,
  enrolledAt: Number(r.enrolled_at),
  lastSeenAt: Number(r.last_seen_at),
})
const toAssignment = (r: AssignmentRow): AssignmentRecord => ({
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

const sqlOf = (db: Queryable): Sql => ({
  async query<R>(text: string, params?: unknown[]) {
    const { rows, affectedRows } = await db.query<R>(text, params)
    return { rows, rowCount: affectedRows ?? 0 }
  },
  async exec(text) {
    await db.exec(text)
  },
})

/** PGlite as a Database: one process, one connection, so a session is the database itself. */
export function pgliteDatabase(db: PGlite): Database {
  const self: Database = {
    ...sqlOf(db),
    transaction: (fn) => db.transaction((tx) => fn(sqlOf(tx))),
    session: (fn) => fn(self),
    close: () => db.close(),
  }
  return self
}

/**
 * The default store: PGlite, Postgres compiled to WASM, embedded in the coordinator's process,
 * in a folder under the data dir (or in memory with `memory://`). Plain SQL, so the same
 * statements run on a PostgreSQL server.
 */
export async function pgliteStore(dataDir: string): Promise<Store> {
  const db = await PGlite.create(dataDir)
  await migrate(pgliteDatabase(db))
  return {
    ...pgliteDatasets(db),
    insertTask: (task) => insert(db, 'tasks', task),
    async getTask(id) {
      const { rows } = await db.query<TaskRow>('select * from tasks where id = $1', [id])
      return rows[0] ? toTask(rows[0]) : undefined
    },
    async listTasks() {
      return (await db.query<TaskRow>('select * from tasks order by created_at, id')).rows.map(
        toTask,
      )
    },
    updateTask: (id, patch) => update(db, 'tasks', patch, { id }),
    async deleteTask(id) {
      return db.transaction(async (tx) => {
        await tx.query('delete from assignments where task_id = $1', [id])
        const { affectedRows } = await tx.query('delete from tasks where id = $1', [id])
        return (affectedRows ?? 0) > 0
      })
    },

    async openRound(round) {
      await db.transaction(async (tx) => {
        await insert(tx, 'rounds', round)
        await update(tx, 'tasks', { round: round.round }, { id: round.taskId })
      })
    },
    updateRound: (taskId, round, patch) => update(db, 'rounds', patch, { taskId, round }),
    async listRounds(taskId) {
      const { rows } = await db.query<RoundRow>(
        'select * from rounds where task_id = $1 order by round',
        [taskId],
      )
      return rows.map(toRound)
    },
    async listOpenRounds() {
      const { rows } = await db.query<RoundRow>(
        "select * from rounds where status = 'open' order by task_id, round",
      )
      return rows.map(toRound)
    },
    async closeRound({ round: { taskId, round, ...roundPatch }, task }) {
      await db.transaction(async (tx) => {
        await update(tx, 'rounds', roundPatch, { taskId, round })
        await update(tx, 'tasks', task, { id: taskId })
      })
    },
    async resetRound(taskId, round, startedAt) {
      await db.transaction(async (tx) => {
        await tx.query('delete from assignments where task_id = $1 and round = $2', [taskId, round])
        const fresh = {
          ...FRESH_ROUND,
          participation: noParticipation(),
          status: 'open',
          startedAt,
        }
        await update(tx, 'rounds', fresh, { taskId, round })
      })
    },

    insertDevice: (device) => insert(db, 'devices', device),
    async getDeviceByTokenHash(tokenHash) {
      const { rows } = await db.query<DeviceRow>('select * from devices where token_hash = $1', [
        tokenHash,
      ])
      return rows[0] ? toDevice(rows[0]) : undefined
    },
    updateDevice: (id, patch) => update(db, 'devices', patch, { id }),
    async listDevices() {
      return (await db.query<DeviceRow>('select * from devices order by enrolled_at, id')).rows.map(
        toDevice,
      )
    },

    insertAssignment: (assignment) => insert(db, 'assignments', assignment),
    updateAssignment: ({ taskId, round, deviceId }, patch) =>
      update(db, 'assignments', patch, { taskId, round, deviceId }),
    async listAssignments(taskId, round) {
      const { rows } = await db.query<AssignmentRow>(
        'select * from assignments where task_id = $1 and round = $2 order by assigned_at, device_id',
        [taskId, round],
      )
      return rows.map(toAssignment)
    },

    async getAssignment({ taskId, round, deviceId }) {
      const { rows } = await db.query<AssignmentRow>(
        'select * from assignments where task_id = $1 and round = $2 and device_id = $3',
        [taskId, round, deviceId],
      )
      return rows[0] ? toAssignment(rows[0]) : undefined
    },
    async markLate({ taskId, round, deviceId }, at) {
      return db.transaction(async (tx) => {
        const { affectedRows } = await tx.query(
          `update assignments set state = 'late', answered_at = $4
           where task_id = $1 and round = $2 and device_id = $3 and state = 'assigned'`,
          [taskId, round, deviceId, at],
        )
        if (!affectedRows) return false
        await tx.query('update rounds set late = late + 1 where task_id = $1 and round = $2', [
          taskId,
          round,
        ])
        return true
      })
    },

    close: () => db.close(),
  }
}
