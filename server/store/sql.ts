/**
 * What the store's SQL needs of a database, so that one implementation of it runs on PGlite
 * (in-process) and on a PostgreSQL server (node-postgres): parameterized queries, scripts,
 * transactions, and a session that holds one connection (for session advisory locks).
 */
export interface Sql {
  query<R = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>
  /** Several statements in one string, without parameters: a migration file. */
  exec(text: string): Promise<void>
}

export interface Database extends Sql {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>
  /** Runs `fn` on one connection held throughout, so session-level state (locks) stays put. */
  session<T>(fn: (db: Database) => Promise<T>): Promise<T>
  close(): Promise<void>
}
