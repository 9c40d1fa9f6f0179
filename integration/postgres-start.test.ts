import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TaskView } from '../shared/protocol/index.ts'
import { freshDatabase, type FreshDatabase } from '../server/store/testing-pg.ts'
import { adminClient, freePort, healthy, startChild, waitFor } from './harness.ts'

/** `npm start`'s entry point with POLLEN_DATABASE_URL: the store on the PostgreSQL server. */
describe('npm start on a PostgreSQL server', () => {
  let db: FreshDatabase
  const children: ChildProcess[] = []
  beforeAll(async () => {
    db = await freshDatabase('start')
  })
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await db.drop()
  })

  /** A replica on a data dir of its own, the token left to the database, the demo task on. */
  async function start(output: string[], database = db.url) {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const dataDir = await mkdtemp(join(tmpdir(), 'pollen-pg-start-'))
    // A password the server (trust auth) ignores, to check that no log line shows it.
    const withPassword = new URL(database)
    withPassword.password = 'hunter2'
    const child = startChild(port, dataDir, output, {
      POLLEN_DATABASE_URL: withPassword.toString(),
      POLLEN_ADMIN_TOKEN: '',
      POLLEN_DEMO: '1',
    })
    children.push(child)
    await waitFor(healthy(url), 90_000, `the coordinator to start: ${output.join('')}`)
    return { url, dataDir, child }
  }

  /** Waits for a log line: /healthz may answer before the lines printed once it listens. */
  const logged = (output: string[], text: string) =>
    waitFor(() => (output.join('').includes(text) ? true : undefined), 30_000, `"${text}" logged`)

  async function stop(child: ChildProcess) {
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }

  async function sharedToken() {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ value: string }>(
        "select value from settings where key = 'admin_token'",
      )
      return rows.map((r) => r.value)
    } finally {
      await client.end()
    }
  }

  it('creates the demo task once, keeps no database nor blob in the data dir, and shares one admin token', async () => {
    const firstOutput: string[] = []
    const first = await start(firstOutput)
    const [token] = await sharedToken()
    expect(token).toMatch(/^[\w-]{32}$/)
    await logged(firstOutput, 'admin token (generated, saved in the database')
    await logged(firstOutput, ':***@127.0.0.1')
    expect(firstOutput.join('')).not.toContain('hunter2')
    const list = async (url: string) =>
      (
        (await (await adminClient(url, token).call('/api/v1/tasks')).json()) as {
          tasks: TaskView[]
        }
      ).tasks
    const tasks = await list(first.url)
    expect(tasks.map((t) => t.name)).toEqual(['Demo: handwritten digits'])
    // The data dir keeps this replica's lock only: no database, no blobs, no token.
    const kept = await readdir(first.dataDir)
    for (const name of ['db', 'blobs', 'admin-token']) expect(kept).not.toContain(name)
    // The demo task's model is a blob in the database, where every replica reads it.
    const blobs = new pg.Client({ connectionString: db.url })
    await blobs.connect()
    const found = await blobs.query('select 1 from blobs where hash = $1', [tasks[0]?.model.hash])
    await blobs.end()
    expect(found.rowCount).toBe(1)
    await stop(first.child)

    // Another replica, another data dir, the same database: the demo task is already there.
    const secondOutput: string[] = []
    const second = await start(secondOutput)
    await logged(secondOutput, 'admin token: from the database')
    expect(await sharedToken()).toEqual([token])
    expect((await list(second.url)).map((t) => t.id)).toEqual(tasks.map((t) => t.id))
    expect(
      (await adminClient(second.url, 'not-the-token-0123456789').call('/api/v1/tasks')).status,
    ).toBe(401)
    const { rows } = await pgCount(db.url)
    expect(rows).toBe(1)
    await stop(second.child)
  })

  it('creates one demo task when replicas start together on an empty database', async () => {
    const together = await freshDatabase('start_together')
    try {
      const outputs: string[][] = [[], [], []]
      const replicas = await Promise.all(outputs.map((output) => start(output, together.url)))
      expect((await pgCount(together.url)).rows).toBe(1)
      const created = outputs.filter((o) => o.join('').includes('created the demo task'))
      expect(created).toHaveLength(1)
      await Promise.all(replicas.map((r) => stop(r.child)))
    } finally {
      await together.drop()
    }
  })
})

async function pgCount(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>('select count(*) as n from tasks')
    return { rows: Number(rows[0]?.n) }
  } finally {
    await client.end()
  }
}
