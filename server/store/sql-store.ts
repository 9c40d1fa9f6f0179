import { noParticipation } from '../../shared/protocol/index.ts'
import { FRESH_ROUND, freshTraffic, type Store } from './types.ts'
import {
  toAssignment,
  toDevice,
  toRound,
  toTask,
  type AssignmentRow,
  type DeviceRow,
  type RoundRow,
  type TaskRow,
} from './rows.ts'
import { sqlDatasets } from './sql-datasets.ts'
import type { Database, Sql } from './sql.ts'

/** camelCase record field → snake_case column, for the fields a patch may name. */
const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const JSON_COLUMNS = new Set([
  'spec',
  'capabilities',
  'datasets',
  'participation',
  'bytesUpByCodec',
  'bytesDownByEncoding',
  'accuracyByLabel',
  'confusion',
  'staleness',
  'updateBounds',
  'privacySpent',
])
/** A field's value as a query parameter: JSON text for a jsonb column, SQL null for null. */
const param = ([k, v]: [string, unknown]): unknown =>
  JSON_COLUMNS.has(k) && v !== null ? JSON.stringify(v) : v

export function setClause(patch: Record<string, unknown>, firstParam: number) {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined)
  return {
    sql: entries.map(([k], i) => `${column(k)} = $${firstParam + i}`).join(', '),
    values: entries.map(param),
    empty: entries.length === 0,
  }
}

async function update(
  db: Sql,
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

export async function insert(db: Sql, table: string, record: object) {
  const entries = Object.entries(record)
  await db.query(
    `insert into ${table} (${entries.map(([k]) => column(k)).join(', ')}) values (${entries.map((_, i) => `$${i + 1}`).join(', ')})`,
    entries.map(param),
  )
}

/**
 * The store over any Database: PGlite in-process (pglite.ts) or a PostgreSQL server
 * (postgres.ts) run these same statements. The schema is the migrations' (migrate.ts).
 */
export function sqlStore(db: Database): Store {
  return {
    ...sqlDatasets(db),
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
        const { rowCount } = await tx.query('delete from tasks where id = $1', [id])
        return rowCount > 0
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
          ...freshTraffic(),
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
        const { rowCount } = await tx.query(
          `update assignments set state = 'late', answered_at = $4
           where task_id = $1 and round = $2 and device_id = $3 and state = 'assigned'`,
          [taskId, round, deviceId, at],
        )
        if (rowCount === 0) return false
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
