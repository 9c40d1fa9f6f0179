// API CHANGE (additive, for cluster-scheduler): select() takes an optional `replicaId` (kept
// with the assignment); downloaded() resolves to whether it counted (the device was assigned
// in that round), so the caller knows whether to announce a plain download; spoolMeta() lists a
// round's spooled updates without their bytes (training loss, participation at close);
// counts() gives a round's exact counts from its assignments: accept() moves the round row's
// reported/examples/bytes_up after its commit (see there), so close with counts(), not the row.
import type pg from 'pg'
import { clusterDb } from './db.ts'
import { accept, select, uploads } from './ledger-devices.ts'
import { roundLedger, sumsLedger } from './ledger-owner.ts'
import { createSecureLog } from './secure-log.ts'
import type { Ledger, LedgerOptions } from './types.ts'

export type * from './types.ts'

/**
 * The round's decisions made atomically in PostgreSQL, so that any number of replicas serve
 * devices at once: what server/rounds/selection.ts and submission.ts decide in memory for one
 * process. Every guard is in the statement that writes (a row lock orders racing replicas), and
 * every owner write checks tasks.owner_epoch (the fence against a stale owner).
 *
 * A round's row is hot (every device of the round passes by it), so nothing holds it across an
 * fsync: selections and the live counters commit without waiting for the disk (a replica's
 * death loses nothing; see db.ts), and uploads hold it in KEY SHARE, which neither selections
 * nor other uploads wait for. beginClose moves the phase, then waits (FOR UPDATE) for the
 * uploads in flight. Owner writes lock the task's row first: the fence.
 *
 * Measured here (PostgreSQL 15 on this machine, where a synchronous commit takes ~9 ms): a
 * round's row held across each commit would cap a round at ~110 selections or uploads/s.
 */
export function createLedger(pool: pg.Pool, options: LedgerOptions = {}): Ledger {
  const db = clusterDb(pool)
  return {
    select: (i) => select(db, i),
    accept: (i) => accept(db, i),
    ...uploads(db),
    ...roundLedger(db),
    ...sumsLedger(db, options),
    secure: createSecureLog(db, { now: options.now ?? Date.now }),
  }
}
