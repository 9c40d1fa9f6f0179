import { spawn } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate, readMigrations } from './migrate.ts'
import { postgresDatabase, postgresStore } from './postgres.ts'
import { settingOnce } from './settings.ts'
import { storeSuite } from './store.case.ts'
import { freshDatabase, type FreshDatabase, testPool } from './testing-pg.ts'

let fresh: FreshDatabase
let pool: pg.Pool

beforeAll(async () => {
  fresh = await freshDatabase('store')
  pool = testPool(fresh.url, 4)
  await migrate(postgresDatabase(pool))
})
afterAll(async () => {
  await pool.end()
  await fresh.drop()
})

/** Every table emptied but the migrations' record: each test of the suite starts clean. */
async function emptied() {
  const { rows } = await pool.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations'",
  )
  await pool.query(`truncate ${rows.map((r) => `"${r.name}"`).join(', ')} cascade`)
  return postgresStore(pool)
}

storeSuite('postgresql server', emptied)

describe('postgresql: driver types', () => {
  it('reads bigint columns back as numbers, not strings', async () => {
    const store = await emptied()
    const big = 2 ** 52 + 1
    await store.insertDevice({
      ...{ id: 'd', tokenHash: 'h', label: null, capabilities: null, datasets: [] },
      ...{ enrolledAt: big, lastSeenAt: big },
    })
    expect((await store.listDevices())[0]).toMatchObject({ enrolledAt: big, lastSeenAt: big })
  })
})

/** Starts a child that opens the store once told to; resolves when it is connected. */
function opener(url: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/store/testing-open.ts', url], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  )
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready') && resolve())
    void exited.then((r) => reject(new Error(`child exited before ready: ${r.err}`)))
  })
  return { child, ready, exited }
}

describe('postgresql: replicas starting together', () => {
  it('apply one set of migrations between them, and both open', async () => {
    const db = await freshDatabase('race')
    const children = [opener(db.url), opener(db.url)]
    try {
      await Promise.all(children.map((c) => c.ready))
      for (const c of children) c.child.stdin.end('go\n')
      const results = await Promise.all(children.map((c) => c.exited))
      for (const r of results) expect(r, r.err).toMatchObject({ code: 0 })
      const reports = results.map(
        (r) => JSON.parse(r.out.trim().split('\n').at(-1)!) as { applied: number[]; tasks: number },
      )
      const versions = (await readMigrations()).map((m) => m.version)
      // One applied them all, the other waited on the lock and found nothing to do.
      expect(reports.map((r) => r.applied.length).sort((a, b) => a - b)).toEqual([
        0,
        versions.length,
      ])
      expect(reports.map((r) => r.tasks)).toEqual([0, 0])
      const check = new pg.Client({ connectionString: db.url })
      await check.connect()
      const { rows } = await check.query<{ version: number }>(
        'select version from schema_migrations order by version',
      )
      await check.end()
      expect(rows.map((r) => r.version)).toEqual(versions)
    } finally {
      for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL')
      await db.drop()
    }
  })
})

describe('postgresql: settings made once', () => {
  it('gives every caller the first writer’s value, even when they race', async () => {
    await emptied()
    const db = postgresDatabase(pool)
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((v) => settingOnce(db, 'admin_token', () => `token-${v}`)),
    )
    expect(new Set(results.map((r) => r.value)).size).toBe(1)
    expect(results.filter((r) => r.made)).toHaveLength(1)
    expect(await settingOnce(db, 'admin_token', () => 'later')).toEqual({
      value: results[0]!.value,
      made: false,
    })
  })
})
