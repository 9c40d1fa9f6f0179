import { PGlite, type Transaction } from '@electric-sql/pglite'
import { migrate } from './migrate.ts'
import type { Database, Sql } from './sql.ts'
import { sqlStore } from './sql-store.ts'
import type { Store } from './types.ts'

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction

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
/**
 * The default store: PGlite, Postgres compiled to WASM, embedded in the coordinator's process,
 * in a folder under the data dir (or in memory with `memory://`). The same SQL as on a
 * PostgreSQL server (postgres.ts), migrated at open.
 */
export async function pgliteStore(dataDir: string): Promise<Store> {
  const db = pgliteDatabase(await PGlite.create(dataDir))
  await migrate(db)
  return sqlStore(db)
}
