import type pg from 'pg'
import {
  type KeysMessage,
  type RevealMessage,
  SecAggError,
  type SharesMessage,
} from '../../shared/secagg/index.ts'
import { cryptoRandom } from '../../shared/secagg/graph.ts'
import { roundSettings } from '../../shared/secagg/server.ts'
import {
  advertise,
  closeAdvertise,
  closeCollect,
  closeShare,
  collected,
  reveal,
  share,
} from '../../shared/secagg/server-stages.ts'
import { abandon, newRoundState, type RoundState } from '../../shared/secagg/server-state.ts'
import { finished } from '../../shared/secagg/server-unmask.ts'
import type { SecAggStage } from '../../shared/secagg/messages.ts'
import type { ClusterDb } from './db.ts'

/** The advisory-lock class of secure rounds (beside ownership's replica and task locks). */
export const SECAGG_LOCKS = 0x706f6c03

/** What every replica must agree on to run a round's SecAgg+ (its first entry fixes it). */
export interface SecureBegin {
  length: number
  range: number
  thresholdShare: number
  /** At least 2 (beginOf makes it so): one input is no sum. */
  minSurvivors: number
  deadlineSeconds: number
  /** Devices the round selects at most: once all have advertised, advertising closes. */
  cap: number
}

/**
 * One call of a secure round, as the log keeps it: what a replica did to the round's state,
 * enough for any other to do the same. closeAdvertise carries the random draws its graph was
 * built from; collect only the size of the masked input (the vector went to the spool and the
 * partial sum of the replica that took it).
 */
export type SecureEntry =
  | { call: 'begin'; body: SecureBegin }
  | { call: 'advertise'; device: string; body: KeysMessage }
  | { call: 'closeAdvertise'; body: { draws: number[] } }
  | { call: 'share'; device: string; body: SharesMessage }
  | { call: 'closeShare'; body: Record<string, never> }
  | { call: 'collect'; device: string; body: { words: number } }
  | { call: 'closeCollect'; body: Record<string, never> }
  | { call: 'reveal'; device: string; body: RevealMessage }
  | { call: 'done'; body: Record<string, never> }
  | { call: 'abandon'; body: { reason: string } }

/** A secure round as this replica has rebuilt it from the log, up to entry `seq`. */
export interface ReplicatedRound {
  readonly begin: SecureBegin
  readonly state: RoundState
  seq: number
  /** When the round reached each stage (the entry's time): the owner's windows start there. */
  readonly since: Map<SecAggStage, number>
  /** Where closeAdvertise's graph takes its randomness from (replayed draws, or recorded). */
  random: () => number
}

function replicated(begin: SecureBegin, at: number): ReplicatedRound {
  const r: ReplicatedRound = {
    begin,
    seq: 0,
    since: new Map([['advertise', at]]),
    random: cryptoRandom,
    state: newRoundState(
      roundSettings({
        length: begin.length,
        range: begin.range,
        thresholdShare: begin.thresholdShare,
        minSurvivors: begin.minSurvivors,
        retryAfterSeconds: 1,
        random: () => r.random(),
      }),
    ),
  }
  return r
}

/** Applies one entry to the round (a live call and its replay alike). */
function apply(r: ReplicatedRound, entry: SecureEntry, at: number): void {
  const s = r.state
  const before = s.stage
  switch (entry.call) {
    case 'begin':
      break
    case 'advertise':
      advertise(s, entry.device, entry.body)
      break
    case 'closeAdvertise': {
      const draws = entry.body.draws
      let next = 0
      r.random = () => {
        if (next >= draws.length) throw new Error('closeAdvertise: the log has too few draws')
        return draws[next++]!
      }
      closeAdvertise(s)
      break
    }
    case 'share':
      share(s, entry.device, entry.body)
      break
    case 'closeShare':
      closeShare(s)
      break
    case 'collect':
      collected(s, entry.device, entry.body.words)
      break
    case 'closeCollect':
      closeCollect(s)
      break
    case 'reveal':
      reveal(s, entry.device, entry.body)
      break
    case 'done':
      finished(s)
      break
    case 'abandon':
      abandon(s, entry.body.reason)
      break
  }
  // The masked inputs are summed by the replicas that take them, never in this state.
  s.sum = null
  if (s.stage !== before) r.since.set(s.stage, at)
}

interface LogRow {
  seq: number
  call: SecureEntry['call']
  device_id: string | null
  body: unknown
  at: string
}

const entryOf = (row: LogRow) =>
  ({ call: row.call, body: row.body, device: row.device_id ?? undefined }) as SecureEntry

/** A call on a secure round no device has advertised in yet, where only advertising begins one. */
export class NotBegun extends Error {
  constructor(taskId: string, n: number) {
    super(`task ${taskId} round ${n} has no secure aggregation under way`)
  }
}

/** A live call on a round, inside its lock: each step applied, then written to the log. */
export interface SecureWriter {
  readonly round: ReplicatedRound
  /** Applies `entry` (throwing as its stage function does, before anything changes). */
  apply(entry: SecureEntry): void
  /** Closes advertising with fresh randomness, recording the draws for the log. */
  closeAdvertise(): void
  /** Writes `entry` whose effect the caller made itself (finish(), which unmasks). */
  record(entry: SecureEntry): void
}

type Queryable = Pick<pg.PoolClient, 'query'>

/** Drops from `map`, keyed "task/round", the task's rounds before `n`. */
export function dropRoundsBefore(map: Map<string, unknown>, taskId: string, n: number) {
  for (const key of map.keys()) {
    const cut = key.lastIndexOf('/')
    if (key.slice(0, cut) === taskId && Number(key.slice(cut + 1)) < n) map.delete(key)
  }
}

/** The round's log entries after `after`, in order. */
async function readLog(q: Queryable, taskId: string, n: number, after: number) {
  const { rows } = await q.query<LogRow>(
    `select seq, call, device_id, body, at from secagg_log
     where task_id = $1 and round = $2 and seq > $3 order by seq`,
    [taskId, n, after],
  )
  return rows
}

/**
 * `rows` applied to `r` in order, each at most once (undefined: no entry yet). 'gap' where an
 * entry is missing between what `r` holds and `rows`: `r` is not the log's any more.
 */
function replay(r: ReplicatedRound | undefined, rows: LogRow[], key: string) {
  for (const row of rows) {
    if (r && row.seq <= r.seq) continue
    if (!r) {
      if (row.seq !== 1 || row.call !== 'begin')
        throw new Error(`secure round ${key}: its log does not begin with its settings`)
      r = replicated(row.body as SecureBegin, Number(row.at))
      r.seq = 1
      continue
    }
    if (row.seq !== r.seq + 1) return 'gap'
    apply(r, entryOf(row), Number(row.at))
    r.seq = row.seq
  }
  return r
}

/** `entries` appended after entry `base`, each only right after the one before it. */
async function append(
  c: Queryable,
  taskId: string,
  n: number,
  base: number,
  entries: { entry: SecureEntry; at: number }[],
) {
  let seq = base
  for (const { entry, at } of entries) {
    seq += 1
    // The database has the last word: a copy that ran ahead of the log cannot write past it.
    const { rowCount } = await c.query(
      `insert into secagg_log (task_id, round, seq, call, device_id, body, at)
       select $1, $2, $3, $4, $5, $6, $7
       where coalesce((select max(seq) from secagg_log where task_id = $1 and round = $2), 0)
         = $3 - 1`,
      [
        taskId,
        n,
        seq,
        entry.call,
        'device' in entry ? entry.device : null,
        JSON.stringify(entry.body),
        at,
      ],
    )
    if (!rowCount)
      throw new Error(`secure round ${taskId}/${n}: its log moved on under this replica`)
  }
}

/** A writer on `round` whose steps go into `entries` (and move the round's seq on). */
function writerOf(
  round: ReplicatedRound,
  entries: { entry: SecureEntry; at: number }[],
  now: () => number,
): SecureWriter {
  const record = (entry: SecureEntry, at: number) => {
    entries.push({ entry, at })
    round.seq += 1
  }
  return {
    round,
    apply(entry) {
      const at = now()
      apply(round, entry, at)
      record(entry, at)
    },
    closeAdvertise() {
      const draws: number[] = []
      round.random = () => {
        const x = cryptoRandom()
        draws.push(x)
        return x
      }
      const at = now()
      closeAdvertise(round.state)
      round.since.set(round.state.stage, at)
      record({ call: 'closeAdvertise', body: { draws } }, at)
    },
    record(entry) {
      const at = now()
      round.since.set(round.state.stage, at)
      record(entry, at)
    },
  }
}

/**
 * Secure aggregation's state on replicas: each round's calls in one log (table secagg_log),
 * appended under the round's transaction-scoped advisory lock, so calls on any replica take
 * effect in one order; every replica rebuilds the round by replaying it (kept in memory and
 * caught up from the last entry it applied). The stage functions are the ones one process runs
 * (shared/secagg), so a replayed round is the same round.
 */
export function createSecureLog(db: ClusterDb, { now }: { now: () => number }) {
  const { pool, transaction } = db
  const rounds = new Map<string, ReplicatedRound>()
  const keyOf = (taskId: string, n: number) => `${taskId}/${n}`

  const prune = (taskId: string, n: number) => dropRoundsBefore(rounds, taskId, n)

  /**
   * The round as the log has it now (undefined: not begun). A caller that finds this replica's
   * copy moved while it read, or a gap, starts over.
   */
  async function caughtUp(q: Queryable, taskId: string, n: number) {
    const key = keyOf(taskId, n)
    for (;;) {
      const cached = rounds.get(key)
      const rows = await readLog(q, taskId, n, cached?.seq ?? 0)
      if (rounds.get(key) !== cached) continue
      const r = replay(cached, rows, key)
      if (r === 'gap') rounds.delete(key)
      else {
        if (r) rounds.set(key, r)
        // A round new here: copies of the task's rounds before the last are of no use now.
        if (r && !cached) prune(taskId, n - 1)
        return r
      }
    }
  }

  /**
   * Runs `call` on the round inside transaction `c` (its own, or an upload's), under the round's
   * lock: caught up, each step applied and written. A round not begun is begun with `begin`
   * (first writer wins: every replica computes it alike). A refusal before any step leaves
   * the round as it was; anything later forgets this replica's copy (rebuilt from the log).
   */
  async function within<T>(
    c: pg.PoolClient,
    taskId: string,
    n: number,
    begin: SecureBegin | null,
    call: (w: SecureWriter) => T | Promise<T>,
  ): Promise<T> {
    const key = keyOf(taskId, n)
    await c.query('select pg_advisory_xact_lock($1, hashtext($2))', [SECAGG_LOCKS, key])
    const found = await caughtUp(c, taskId, n)
    if (!found && !begin) throw new NotBegun(taskId, n)
    const round = found ?? replicated(begin!, now())
    const base = round.seq
    const entries: { entry: SecureEntry; at: number }[] = []
    const writer = writerOf(round, entries, now)
    if (!found) writer.record({ call: 'begin', body: begin! })
    try {
      const result = await call(writer)
      await append(c, taskId, n, base, entries)
      if (entries.length > 0) rounds.set(key, round)
      return result
    } catch (error) {
      if (entries.length > 0) rounds.delete(key)
      throw error
    }
  }

  return {
    /** The round as the log has it now, read outside any lock (undefined: not begun). */
    read: (taskId: string, n: number) => caughtUp(pool, taskId, n),
    within,
    /** A call in a transaction of its own (a failed commit forgets this replica's copy). */
    async write<T>(
      taskId: string,
      n: number,
      begin: SecureBegin | null,
      call: (w: SecureWriter) => T | Promise<T>,
    ): Promise<T> {
      try {
        return await transaction((c) => within(c, taskId, n, begin, call))
      } catch (error) {
        if (!(error instanceof SecAggError || error instanceof NotBegun))
          rounds.delete(keyOf(taskId, n))
        throw error
      }
    },
    /** This replica's copy is no longer trusted (a transaction that wrote it failed to commit). */
    forget: (taskId: string, n: number) => rounds.delete(keyOf(taskId, n)),
  }
}

export type SecureLog = ReturnType<typeof createSecureLog>
