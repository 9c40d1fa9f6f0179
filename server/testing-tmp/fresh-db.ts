// Stand-in for server/store/testing-pg.ts (pg-store's), until that lands on main.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import pg from 'pg'

const ADMIN = process.env.POLLEN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export async function freshDatabase(prefix: string) {
  const name = `pollen_${prefix}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN })
      await c.connect()
      try {
        await c.query(`drop database if exists ${name} with (force)`)
      } finally {
        await c.end()
      }
    },
  }
}

export async function applyMine(pool: pg.Pool) {
  for (const f of ['003-blobs.sql', '004-events.sql'])
    await pool.query(await readFile(new URL(`../store/migrations/${f}`, import.meta.url), 'utf8'))
}
