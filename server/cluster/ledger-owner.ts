import { copyOneBytea } from '../blobs/copy-out.ts'
import type { ClusterDb } from './db.ts'
import { ACCEPTING } from './db.ts'
import { sqlOf } from '../store/postgres.ts'
import { insert, setClause } from '../store/sql-store.ts'
import { toRound, type RoundRow } from './rows.ts'
import type { Ledger, LedgerOptions, SpoolMeta } from './types.ts'

/** A float64 little-endian bytea (possibly unaligned) as a Float64Array of its own. */
function float64s(b: Buffer): Float64Array {
  const out = new Float64Array(b.byteLength / 8)
  new Uint8Array(out.buffer).set(b)
  return out
}

/** A number as an SQL literal: integers only (round numbers). */
function integer(v: number): string {
  if (!Number.isSafeInteger(v)) throw new RangeError(`not an integer: ${v}`)
  return String(v)
}

/** Node runs on little-endian hosts only; the sums are stored as their memory is. */
const sumBytes = (sum: Float64Array) => Buffer.from(sum.buffer, sum.byteOffset, sum.byteLength)

interface SpoolDbRow {
  device_id: string
  replica_id: string
  examples: number
  steps: number
  loss: number | null
  staleness: number | null
  partial: boolean
  accepted_at: string
  bytes?: Buffer
}
const toSpoolMeta = (r: SpoolDbRow): SpoolMeta => ({
  deviceId: r.device_id,
  replicaId: r.replica_id,
  examples: r.examples,
  steps: r.steps,
  loss: r.loss,
  staleness: r.staleness,
  partial: r.partial,
  acceptedAt: Number(r.accepted_at),
})
const SPOOL_META = 'device_id, replica_id, examples, steps, loss, staleness, partial, accepted_at'

/** The owner's round: its row, and the fenced moves from closing to the next. */
export function roundLedger({
  pool,
  transaction,
}: ClusterDb): Pick<Ledger, 'round' | 'beginClose' | 'finishRound' | 'openRound' | 'updateTask'> {
  return {
    async round(taskId, round) {
      const { rows } = await pool.query<RoundRow>(
        'select * from rounds where task_id = $1 and round = $2',
        [taskId, round],
      )
      return rows[0] ? toRound(rows[0]) : undefined
    },

    async beginClose({ taskId, round, epoch }) {
      // FOR SHARE on the task waits out a takeover's epoch bump, and holds it off until done.
      // The phase moves at once: uploads in flight hold the round's row in KEY SHARE, which a
      // plain update does not wait for (a FOR UPDATE here would wait behind a stream of them).
      const { rowCount } = await pool.query(
        `with t as (select 1 from tasks where id = $1 and owner_epoch = $3 for share)
         update rounds set phase = 'closing'
         where task_id = $1 and round = $2 and ${ACCEPTING} and exists (select 1 from t)`,
        [taskId, round, epoch],
      )
      if (!rowCount) return false
      // Then FOR UPDATE waits for the uploads that passed the phase before it moved: once it
      // has the row, every upload ever to be accepted is in the spool; later ones were late.
      await transaction((c) =>
        c.query('select 1 from rounds where task_id = $1 and round = $2 for update', [
          taskId,
          round,
        ]),
      )
      return true
    },

    finishRound({ epoch, round: { taskId, round, ...roundPatch }, task, phase }) {
      return transaction(async (c, rollback) => {
        // The fence first: the task's row, locked, at the epoch this owner took it at.
        const t = setClause(task, 3)
        const fenced = await c.query(
          `update tasks set ${t.sql || 'owner_epoch = owner_epoch'}
           where id = $1 and owner_epoch = $2`,
          [taskId, epoch, ...t.values],
        )
        if (!fenced.rowCount) {
          await rollback()
          return false
        }
        const r = setClause({ ...roundPatch, phase }, 3)
        await c.query(`update rounds set ${r.sql} where task_id = $1 and round = $2`, [
          taskId,
          round,
          ...r.values,
        ])
        for (const table of ['spool', 'partials'])
          await c.query(`delete from ${table} where task_id = $1 and round = $2`, [taskId, round])
        // Its devices may still read how their secure round ended; older logs are of no use.
        await c.query('delete from secagg_log where task_id = $1 and round < $2 - 1', [
          taskId,
          round,
        ])
        return true
      })
    },

    async updateTask({ epoch, taskId, task }) {
      const t = setClause(task, 3)
      if (t.empty) throw new RangeError('updateTask: an empty patch')
      const { rowCount } = await pool.query(
        `update tasks set ${t.sql} where id = $1 and owner_epoch = $2`,
        [taskId, epoch, ...t.values],
      )
      return rowCount === 1
    },

    openRound({ epoch, round, frozen }) {
      return transaction(async (c, rollback) => {
        const fenced = await c.query(
          'update tasks set round = $3 where id = $1 and owner_epoch = $2',
          [round.taskId, epoch, round.round],
        )
        if (!fenced.rowCount) {
          await rollback()
          return false
        }
        await insert(sqlOf(c), 'rounds', {
          ...round,
          phase: 'open',
          ...(frozen
            ? { settings: JSON.stringify(frozen.settings), train: JSON.stringify(frozen.train) }
            : {}),
        })
        return true
      })
    },
  }
}

/** What replicas hand the owner at close: their partial sums, and the spooled updates. */
export function sumsLedger(
  { pool, connected }: ClusterDb,
  { spoolBatch = 4 }: LedgerOptions = {},
): Pick<Ledger, 'writePartial' | 'partials' | 'spool' | 'spoolMeta' | 'spooledBy'> {
  /**
   * One bytea, read through a binary COPY: a select's text result would carry it hex-encoded,
   * twice its size and several times slower to read (server/blobs/copy-out.ts). COPY takes no
   * parameters: the key goes in as escaped literals.
   */
  const bytesOf = (what: string, key: Record<string, string | number>) =>
    connected((c) => {
      const where = Object.entries(key)
        .map(([k, v]) => `${k} = ${typeof v === 'number' ? integer(v) : c.escapeLiteral(v)}`)
        .join(' and ')
      return copyOneBytea(c, `select ${what} where ${where}`)
    })

  async function* spool(taskId: string, round: number, replicaIds?: readonly string[]) {
    // Keyset paging in accept order: no transaction or cursor held open while the owner folds.
    let after: [number, string] = [-1, '']
    const only = replicaIds ? 'and replica_id = any($6)' : ''
    for (;;) {
      const { rows } = await pool.query<SpoolDbRow>(
        `select ${SPOOL_META} from spool
         where task_id = $1 and round = $2 and (accepted_at, device_id) > ($3, $4) ${only}
         order by accepted_at, device_id limit $5`,
        [taskId, round, after[0], after[1], spoolBatch, ...(replicaIds ? [[...replicaIds]] : [])],
      )
      for (const r of rows) {
        const bytes = await bytesOf('bytes from spool', {
          task_id: taskId,
          round,
          device_id: r.device_id,
        })
        // Deleted meanwhile (the round finished): nothing more to fold.
        if (!bytes) return
        yield {
          ...toSpoolMeta(r),
          bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
        }
      }
      const last = rows.at(-1)
      if (!last || rows.length < spoolBatch) return
      after = [Number(last.accepted_at), last.device_id]
    }
  }

  return {
    spool,
    async writePartial(p) {
      await pool.query(
        `insert into partials (task_id, round, replica_id, devices, reports, examples, weight,
           sum, extra, written_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (task_id, round, replica_id) do update set devices = excluded.devices,
           reports = excluded.reports, examples = excluded.examples, weight = excluded.weight,
           sum = excluded.sum, extra = excluded.extra, written_at = excluded.written_at`,
        [
          p.taskId,
          p.round,
          p.replicaId,
          [...p.devices].sort(),
          p.reports,
          p.examples,
          p.weight,
          sumBytes(p.sum),
          JSON.stringify(p.extra),
          p.writtenAt,
        ],
      )
    },

    async partials(taskId, round) {
      const { rows } = await pool.query<{
        replica_id: string
        devices: string[]
        reports: number
        examples: string
        weight: number
        extra: Record<string, unknown>
        written_at: string
      }>(
        `select replica_id, devices, reports, examples, weight, extra, written_at from partials
         where task_id = $1 and round = $2 order by replica_id`,
        [taskId, round],
      )
      const sums = await Promise.all(
        rows.map((r) =>
          bytesOf('sum from partials', { task_id: taskId, round, replica_id: r.replica_id }),
        ),
      )
      return rows.map((r, i) => ({
        taskId,
        round,
        replicaId: r.replica_id,
        devices: r.devices,
        reports: r.reports,
        examples: Number(r.examples),
        weight: r.weight,
        sum: float64s(sums[i] ?? Buffer.alloc(0)),
        extra: r.extra,
        writtenAt: Number(r.written_at),
      }))
    },

    async spoolMeta(taskId, round) {
      const { rows } = await pool.query<SpoolDbRow>(
        `select ${SPOOL_META} from spool where task_id = $1 and round = $2
         order by accepted_at, device_id`,
        [taskId, round],
      )
      return rows.map(toSpoolMeta)
    },

    async spooledBy(taskId, round) {
      const { rows } = await pool.query<{ replica_id: string; devices: string[] }>(
        `select replica_id, array_agg(device_id order by device_id) as devices from spool
         where task_id = $1 and round = $2 group by replica_id`,
        [taskId, round],
      )
      return new Map(rows.map((r) => [r.replica_id, r.devices]))
    },
  }
}
