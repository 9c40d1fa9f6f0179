import type pg from 'pg'
import type { AssignmentKey } from '../rounds/submission.ts'

export const UNIQUE_VIOLATION = '23505'
/** A PostgreSQL error's SQLSTATE, if it is one. */
export const code = (error: unknown) =>
  typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined

/** An assignment's key as $1..$3. */
export const KEY = 'task_id = $1 and round = $2 and device_id = $3'
export const keyParams = (k: AssignmentKey) => [k.taskId, k.round, k.deviceId]
/** A round that takes devices and updates. */
export const ACCEPTING = `phase in ('open', 'selecting')`

type Rollback = () => Promise<void>

/** The ledger's connections: a pool, and transactions on it, synchronous or not. */
export function clusterDb(pool: pg.Pool) {
  /** Runs `fn` in a transaction on `client`: committed unless it throws or rolled back. */
  async function inTransaction<T>(
    client: pg.PoolClient,
    fn: (c: pg.PoolClient, rollback: Rollback) => Promise<T>,
  ): Promise<T> {
    let done = false
    const rollback = async () => {
      done = true
      await client.query('rollback')
    }
    try {
      await client.query('begin')
      const result = await fn(client, rollback)
      if (!done) await client.query('commit')
      done = true
      return result
    } catch (error) {
      if (!done) await client.query('rollback').catch(() => {})
      throw error
    }
  }

  /** Runs `fn` on one pooled connection, released after. */
  async function connected<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    try {
      return await fn(client)
    } finally {
      client.release()
    }
  }

  const transaction = <T>(fn: (c: pg.PoolClient, rollback: Rollback) => Promise<T>) =>
    connected((c) => inTransaction(c, fn))

  /**
   * A transaction committed without waiting for the disk (synchronous_commit off): for writes
   * to a round's hot row whose loss in a crash of the PostgreSQL server itself is harmless
   * (selections, whose devices' uploads would then be unknown; live counters, which counts()
   * recomputes). A replica's death loses nothing: the server has the commit. Any later
   * synchronous commit (an accepted upload) flushes them with it.
   */
  const asyncOn = <T>(client: pg.PoolClient, fn: (c: pg.PoolClient) => Promise<T>) =>
    inTransaction(client, async (c) => {
      await c.query('set local synchronous_commit = off')
      return fn(c)
    })
  const asynchronously = <T>(fn: (c: pg.PoolClient) => Promise<T>) =>
    connected((c) => asyncOn(c, fn))

  return { pool, inTransaction, connected, transaction, asyncOn, asynchronously }
}

export type ClusterDb = ReturnType<typeof clusterDb>
