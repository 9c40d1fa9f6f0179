import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { redactUrl } from './url.ts'

/** The server tests make their databases on; `.ci/run` exports a fresh one per run. */
export const TEST_SERVER_URL =
  process.env.POLLEN_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'

export interface FreshDatabase {
  /** A connection URL for the new database. */
  url: string
  name: string
  /** Drops it, closing whatever connections are left (`with (force)`). */
  drop(): Promise<void>
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
  } catch (error) {
    // Tests fail, never skip, without the server: say how to get it.
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(TEST_SERVER_URL)} (${String(error)}): start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect 15 main start`, or point POLLEN_TEST_DATABASE_URL at a server',
    )
  }
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Creates an empty database `pollen_<prefix>_<random>` on the test server. */
export async function freshDatabase(prefix: string): Promise<FreshDatabase> {
  const tag = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30)
  const name = `pollen_${tag}_${randomBytes(6).toString('hex')}`
  await admin((c) => c.query(`create database ${name}`))
  const url = new URL(TEST_SERVER_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    drop: () =>
      admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  }
}

/**
 * A pool on a test database. Its idle connections may still be closing when the database is
 * dropped `with (force)`: the server's termination then reaches a client as an error no query
 * awaits, which vitest would report as unhandled. At that point it is expected, so it is ignored.
 */
export function testPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max })
  pool.on('error', () => {})
  return pool
}
