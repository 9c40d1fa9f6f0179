import { uploadCodec } from '../rounds/admission.ts'
import type { RoundPhase } from '../rounds/live.ts'
import type { AssignmentKey } from '../rounds/submission.ts'
import type { AssignmentState } from '../store/index.ts'
import { byteCounts } from '../store/rows.ts'
import { ACCEPTING, code, KEY, keyParams, UNIQUE_VIOLATION, type ClusterDb } from './db.ts'
import { toAssignment, type AssignmentRow } from './rows.ts'
import type {
  AcceptInput,
  AcceptOutcome,
  Ledger,
  RoundCounts,
  SelectInput,
  SelectOutcome,
} from './types.ts'

/** Bytes as a query parameter, without a copy (node-postgres sends a Buffer as binary). */
const buffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)

/** Selects a device in a round, or says why not (Ledger.select). */
export async function select(
  { pool, asynchronously }: ClusterDb,
  i: SelectInput,
): Promise<SelectOutcome> {
  const params = [
    i.taskId,
    i.round,
    i.deviceId,
    i.now,
    i.deadlineMs,
    i.cap,
    i.backend,
    i.examplesPerSecond,
    JSON.stringify(i.claim),
    i.replicaId ?? null,
  ]
  try {
    // The round row's lock orders racing selections; its re-checked guard keeps the cap. A
    // device selected twice breaks the assignment's primary key, undoing the whole statement.
    const { rows } = await asynchronously((c) =>
      c.query<{
        selected: number
        first_assigned_at: string
        deadline_at: string | null
      }>(
        `with r as (
           update rounds set selected = selected + 1, phase = 'selecting',
             first_assigned_at = coalesce(first_assigned_at, $4),
             deadline_at = case when first_assigned_at is null
               then $4 + $5::bigint else deadline_at end
           where task_id = $1 and round = $2 and ${ACCEPTING} and selected < $6
           returning selected, first_assigned_at, deadline_at
         ), a as (
           insert into assignments (task_id, round, device_id, state, examples, assigned_at,
             answered_at, backend, examples_per_second, downloaded_at, bytes_up, claim, replica_id)
           select $1, $2, $3, 'assigned', 0, $4, null, $7, $8, null, 0, $9, $10 from r
         )
         select * from r`,
        params,
      ),
    )
    const r = rows[0]
    if (r)
      return {
        type: 'selected',
        selected: r.selected,
        firstAssignedAt: Number(r.first_assigned_at),
        deadlineAt: r.deadline_at === null ? null : Number(r.deadline_at),
      }
  } catch (error) {
    if (code(error) !== UNIQUE_VIOLATION) throw error
  }
  const { rows } = await pool.query<{ phase: RoundPhase; state: AssignmentState | null }>(
    `select r.phase, a.state from rounds r
       left join assignments a on a.task_id = r.task_id and a.round = r.round and a.device_id = $3
       where r.task_id = $1 and r.round = $2`,
    keyParams(i),
  )
  const row = rows[0]
  if (row?.state) return { type: 'already', state: row.state }
  if (!row || (row.phase !== 'open' && row.phase !== 'selecting')) return { type: 'not-accepting' }
  return { type: 'full' }
}

/** Takes an upload durably, or says why not (Ledger.accept). */
export async function accept(db: ClusterDb, i: AcceptInput): Promise<AcceptOutcome> {
  const { connected, inTransaction, asyncOn } = db
  const { assignment, late, counts } = uploads(db)
  const codec = uploadCodec(i.bytes)
  const answered = async (key: AssignmentKey): Promise<AcceptOutcome> => {
    const a = await assignment(key)
    return a ? { type: 'duplicate', state: a.state } : { type: 'unknown' }
  }
  const { key } = i
  // Unknown, duplicate and late are settled after the connection is let go (a second one
  // from the pool while holding the first could wait forever on a full pool).
  const outcome = await connected(async (client) => {
    const took = await inTransaction<'answered' | 'closing' | undefined>(
      client,
      async (c, rollback) => {
        // KEY SHARE: racing uploads do not wait for each other's commit (their fsync), nor
        // selections for them; beginClose waits for those that passed (FOR UPDATE).
        const guard = await c.query<{ phase: RoundPhase }>(
          'select phase from rounds where task_id = $1 and round = $2 for key share',
          [key.taskId, key.round],
        )
        const phase = guard.rows[0]?.phase
        if (phase !== 'open' && phase !== 'selecting') {
          await rollback()
          return phase ? 'closing' : 'answered'
        }
        const moved = await c.query(
          `update assignments set state = 'reported', examples = $4, answered_at = $5,
             bytes_up = $6, upload_codec = $7
           where ${KEY} and state = 'assigned'`,
          [...keyParams(key), i.examples, i.now, i.bytes.byteLength, codec],
        )
        if (!moved.rowCount) {
          await rollback()
          return 'answered'
        }
        await c.query(
          `insert into spool (task_id, round, device_id, replica_id, examples, steps, loss,
             staleness, partial, bytes, accepted_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            ...keyParams(key),
            i.replicaId,
            i.examples,
            i.steps,
            i.loss,
            i.staleness,
            i.partial,
            buffer(i.bytes),
            i.now,
          ],
        )
        if (i.within) await i.within(c)
        return undefined
      },
    )
    if (took) return took
    // Durable now. The round's live counters follow in a transaction of their own (on
    // the same connection: a second one could queue behind other uploads), committed
    // without waiting for the disk, so that the round's row is held for microseconds and
    // not for an fsync per upload. They are for the dashboards: counts() is exact.
    const { rows } = await asyncOn(client, (c) =>
      c.query<{ reported: number; examples: string }>(
        `update rounds set reported = reported + 1, examples = examples + $3,
             bytes_up = bytes_up + $4, bytes_up_by_codec = ${addBytesSql('bytes_up_by_codec', '$5', '$4')}
           where task_id = $1 and round = $2 and phase not in ('committed', 'abandoned')
           returning reported, examples`,
        [key.taskId, key.round, i.examples, i.bytes.byteLength, codec],
      ),
    )
    return rows[0]
  })
  if (outcome === 'answered') return answered(key)
  // The round began to close while this upload was read: late, as in one process.
  if (outcome === 'closing')
    return (await late({ key, now: i.now })) ? { type: 'late' } : answered(key)
  // The owner finished the round in between: its row holds the exact counts already.
  const r = outcome ?? (await counts(key.taskId, key.round))
  return { type: 'accepted', reported: r.reported, examples: Number(r.examples) }
}

/**
 * SQL for `column` (a jsonb object of byte counts) with `bytes` more under the key `key` (both
 * query parameters): the per-codec counters grow in the same statement as bytes_up/bytes_down.
 */
const addBytesSql = (column: string, key: string, bytes: string) =>
  `jsonb_set(coalesce(${column}, '{}'::jsonb), array[${key}::text],
     to_jsonb(coalesce((${column} ->> ${key}::text)::bigint, 0) + ${bytes}::bigint))`

/** The device side's reads and guarded moves: assignments and their rounds' counters. */
export function uploads({
  pool,
  asynchronously,
}: ClusterDb): Pick<Ledger, 'counts' | 'assignment' | 'late' | 'reject' | 'downloaded'> {
  async function counts(taskId: string, round: number): Promise<RoundCounts> {
    const { rows } = await pool.query<
      Record<Exclude<keyof RoundCounts, 'bytesUpByCodec'>, string> & {
        bytesUpByCodec: Record<string, number | string>
      }
    >(
      `select count(*) as selected,
         count(*) filter (where state = 'reported') as reported,
         count(*) filter (where state = 'late') as late,
         count(*) filter (where state = 'rejected') as rejected,
         coalesce(sum(examples) filter (where state = 'reported'), 0) as examples,
         coalesce(sum(bytes_up), 0) as "bytesUp",
         (select coalesce(jsonb_object_agg(codec, bytes), '{}'::jsonb) from (
            select coalesce(upload_codec, 'unreadable') as codec, sum(bytes_up) as bytes
            from assignments where task_id = $1 and round = $2 and bytes_up > 0 group by 1
          ) by_codec) as "bytesUpByCodec"
       from assignments where task_id = $1 and round = $2`,
      [taskId, round],
    )
    const r = rows[0]!
    return {
      selected: Number(r.selected),
      reported: Number(r.reported),
      late: Number(r.late),
      rejected: Number(r.rejected),
      examples: Number(r.examples),
      bytesUp: Number(r.bytesUp),
      bytesUpByCodec: byteCounts(r.bytesUpByCodec),
    }
  }

  async function assignment(key: AssignmentKey) {
    const { rows } = await pool.query<AssignmentRow>(
      `select * from assignments where ${KEY}`,
      keyParams(key),
    )
    return rows[0] ? toAssignment(rows[0]) : undefined
  }

  /** A guarded assignment move (from `assigned`) and its round's counters, in one statement. */
  async function move(
    key: AssignmentKey,
    assignmentSet: string,
    roundSet: string,
    extra: unknown[],
  ): Promise<boolean> {
    const { rowCount } = await pool.query(
      `with a as (
         update assignments set ${assignmentSet} where ${KEY} and state = 'assigned' returning 1
       )
       update rounds set ${roundSet}
       where task_id = $1 and round = $2 and exists (select 1 from a)`,
      [...keyParams(key), ...extra],
    )
    return (rowCount ?? 0) > 0
  }

  const late = ({ key, now }: { key: AssignmentKey; now: number }) =>
    move(key, `state = 'late', answered_at = $4`, 'late = late + 1', [now])

  return {
    counts,
    assignment,
    late,
    reject: ({ key, now, bytesUp, codec = 'unreadable' }) =>
      move(
        key,
        `state = 'rejected', answered_at = $4, bytes_up = $5, upload_codec = $6`,
        `rejected = rejected + 1, bytes_up = bytes_up + $5,
         bytes_up_by_codec = ${bytesUp > 0 ? addBytesSql('bytes_up_by_codec', '$6', '$5') : 'bytes_up_by_codec'}`,
        [now, bytesUp, codec],
      ),

    async downloaded({ key, now, bytes, encoding }) {
      const { rowCount } = await asynchronously((c) =>
        c.query(
          `with a as (
           update assignments set downloaded_at = coalesce(downloaded_at, $4)
           where ${KEY} and state = 'assigned' returning 1
         )
         update rounds set bytes_down = bytes_down + $5,
           bytes_down_by_encoding = ${addBytesSql('bytes_down_by_encoding', '$6', '$5')}
         where task_id = $1 and round = $2 and exists (select 1 from a)`,
          [...keyParams(key), now, bytes, encoding],
        ),
      )
      return (rowCount ?? 0) > 0
    },
  }
}
