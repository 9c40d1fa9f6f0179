import type pg from 'pg'
import { migrate } from './migrate.ts'
import type { Database, Sql } from './sql.ts'
import { sqlStore } from './sql-store.ts'
import type { Store } from './types.ts'

const sqlOf = (c: pg.Pool | pg.PoolClient): Sql => ({
  async query<R>(text: string, params?: unknown[]) {
    const result = await c.query(text, params)
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
  },
  async exec(text) {
    // Without parameters node-postgres sends the simple query protocol: several statements.
    await c.query(text)
  },
})

async function inTransaction<T>(client: pg.PoolClient, fn: (tx: Sql) => Promise<T>) {
  await client.query('begin')
  try {
    const result = await fn(sqlOf(client))
    await client.query('commit')
    return result
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw error
  }
}

/** One pooled connection as a Database: its transactions and session are that connection's. */
function clientDatabase(client: pg.PoolClient): Database {
  const self: Database = {
    ...sqlOf(client),
    transaction: (fn) => inTransaction(client, fn),
    session: (fn) => fn(self),
    close: async () => {},
  }
  return self
}

/**
 * A node-postgres pool as a Database. Each transaction and session takes a connection of its
 * own; a session that fails gives its connection up (destroyed, so a lock it held goes with
 * it) rather than back to the pool. close() leaves the pool to whoever made it.
 */
export function postgresDatabase(pool: pg.Pool): Database {
  async function withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    try {
      const result = await fn(client)
      client.release()
      return result
    } catch (error) {
      client.release(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
  }
  return {
    ...sqlOf(pool),
    transaction: (fn) => withClient((client) => inTransaction(client, fn)),
    session: (fn) => withClient((client) => fn(clientDatabase(client))),
    close: async () => {},
  }
}

/**
 * The store on a PostgreSQL server (POLLEN_DATABASE_URL): the same SQL as the embedded store,
 * migrated at open under the migration lock, so replicas may start together. The pool is the
 * caller's (blobs and events share it): the store's close() does not end it.
 */
export async function postgresStore(pool: pg.Pool): Promise<Store> {
  const db = postgresDatabase(pool)
  await migrate(db)
  return sqlStore(db)
}
