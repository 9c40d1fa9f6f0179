import pg from 'pg'
import { migrate } from '../store/migrate.ts'
import { postgresDatabase } from '../store/postgres.ts'
import { freshDatabase, testPool } from '../store/testing-pg.ts'
import type { RoundRecord } from '../store/types.ts'
import { nextRound } from '../rounds/transitions.ts'

/** A fresh, migrated database on the test server, a pool on it, and how to drop it after. */
export async function clusterDatabase(prefix: string) {
  const fresh = await freshDatabase(prefix)
  const pool = testPool(fresh.url, 8)
  await migrate(postgresDatabase(pool))
  return {
    url: fresh.url,
    pool,
    async drop() {
      await pool.end()
      await fresh.drop()
    },
  }
}

/** A round as it opens, nothing in it yet. */
export const openRoundRecord = (taskId: string, round: number): RoundRecord =>
  nextRound({ id: taskId, round, modelHash: 'base' }, 1)

/** A running task at epoch 0 and round 0, straight into the table. */
export async function insertTask(pool: pg.Pool, id: string) {
  await pool.query(
    `insert into tasks (id, spec, status, model_hash, round, committed_rounds, created_at, updated_at)
     values ($1, '{}', 'running', 'base', 0, 0, 1, 1)`,
    [id],
  )
}
