import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import pg from 'pg'

const ADMIN_URL =
  process.env.POLLEN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * The schema in a fresh database: the migration files in order. TEMPORARY until the store's
 * migrations (pg-store) reach this branch: where there is no 001, today's schema is read out of
 * pglite.ts.
 */
async function schema(): Promise<string[]> {
  const dir = new URL('../store/migrations/', import.meta.url)
  const files = (await readdir(dir)).filter((f) => /^\d{3}-.*\.sql$/.test(f)).sort()
  const sql = await Promise.all(files.map((f) => readFile(new URL(f, dir), 'utf8')))
  if (files.some((f) => f.startsWith('001-'))) return sql
  const source = await readFile(new URL('../store/pglite.ts', import.meta.url), 'utf8')
  const base = /const SCHEMA = `([^`]*)`/.exec(source)?.[1]
  if (!base) throw new Error('no base schema found in server/store/pglite.ts')
  return [base, ...sql]
}

/** A fresh database with the cluster's schema, a pool on it, and how to drop it after. */
export async function clusterDatabase(prefix: string) {
  const name = `pollen_${prefix}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  try {
    await admin.connect()
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${String(error)}): start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect 15 main start`',
    )
  }
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.href, max: 8 })
  for (const sql of await schema()) await pool.query(sql)
  return {
    url: url.href,
    pool,
    async drop() {
      await pool.end()
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      try {
        await c.query(`drop database if exists ${name} with (force)`)
      } finally {
        await c.end()
      }
    },
  }
}
