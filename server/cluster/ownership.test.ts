import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLedger } from './ledger.ts'
import { startOwnership, type Ownership } from './ownership.ts'
import { clusterDatabase, insertTask, openRoundRecord } from './testing.ts'

const POLL_MS = 100
/** What a poll may take beyond its period on this busy 2-core machine. */
const SLACK_MS = 1500

let db: Awaited<ReturnType<typeof clusterDatabase>>
let counter = 0
const started: Ownership[] = []

beforeAll(async () => {
  db = await clusterDatabase('ownership')
})
afterEach(async () => {
  await Promise.all(started.splice(0).map((o) => o.close().catch(() => {})))
  // Each test's tasks only: the next test's replicas would own these too.
  await db.pool.query('delete from tasks')
})
afterAll(async () => {
  await db?.drop()
})

async function task() {
  const id = `t${++counter}`
  await insertTask(db.pool, id)
  return id
}

/** A replica's ownership, recording what it acquired and lost (and when). */
async function replica(name: string) {
  const events: { type: 'acquire' | 'lose'; taskId: string; epoch?: number; at: number }[] = []
  const ownership = await startOwnership({
    connection: db.url,
    replicaId: `${name}-${counter}`,
    pollMs: POLL_MS,
    heartbeatMs: 200,
    reconnectMs: 60_000,
    onAcquire: (taskId, epoch) =>
      void events.push({ type: 'acquire', taskId, epoch, at: Date.now() }),
    onLose: (taskId) => void events.push({ type: 'lose', taskId, at: Date.now() }),
  })
  started.push(ownership)
  return { ownership, events }
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
) {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const epochOf = async (taskId: string) =>
  Number(
    (
      await db.pool.query<{ e: string }>('select owner_epoch as e from tasks where id = $1', [
        taskId,
      ])
    ).rows[0]!.e,
  )

describe('ownership', () => {
  it('gives a task to exactly one of two replicas, and to the other when it closes', async () => {
    const id = await task()
    const [a, b] = await Promise.all([replica('a'), replica('b')])
    const owner = await until('an owner', () => [a, b].find((r) => r.ownership.owned().has(id)))
    // Several polls later, still one owner, at the first epoch.
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5))
    expect([a, b].filter((r) => r.ownership.owned().has(id))).toEqual([owner])
    expect(owner.ownership.owned().get(id)).toBe(1)
    expect(await epochOf(id)).toBe(1)
    const other = owner === a ? b : a
    expect(await other.ownership.alive(owner.ownership.replicaId)).toBe(true)

    const closedAt = Date.now()
    await owner.ownership.close()
    const taken = await until('the takeover', () =>
      other.events.find((e) => e.type === 'acquire' && e.taskId === id),
    )
    expect(taken.epoch).toBe(2)
    expect(taken.at - closedAt).toBeLessThan(POLL_MS + SLACK_MS)
    expect(await other.ownership.alive(owner.ownership.replicaId)).toBe(false)
    const { rows } = await db.pool.query('select id from replicas order by id')
    expect(rows).toEqual([{ id: other.ownership.replicaId }])
  })

  it('stops owning at once when its connection dies; the other takes over, and the stale epoch is fenced', async () => {
    const id = await task()
    const a = await replica('a')
    await until('a owns', () => a.ownership.owned().has(id))
    const ledger = createLedger(db.pool)
    const round = openRoundRecord(id, 1)
    expect(await ledger.openRound({ epoch: 1, round })).toBe(true)
    const b = await replica('b')
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3))
    expect(b.ownership.owned().size).toBe(0)

    // Death of a's connection, as PostgreSQL sees a killed process.
    const killedAt = Date.now()
    await db.pool.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
      [`pollen-ownership-${a.ownership.replicaId}`],
    )
    await until('a lets go', () => a.events.find((e) => e.type === 'lose' && e.taskId === id))
    expect(a.ownership.owned().size).toBe(0)
    const taken = await until('b takes over', () =>
      b.events.find((e) => e.type === 'acquire' && e.taskId === id),
    )
    expect(taken.epoch).toBe(2)
    expect(taken.at - killedAt).toBeLessThan(POLL_MS + SLACK_MS)
    // The old owner's writes, at epoch 1, are refused; the new owner's go through.
    expect(await ledger.beginClose({ taskId: id, round: 1, epoch: 1 })).toBe(false)
    expect(await ledger.beginClose({ taskId: id, round: 1, epoch: 2 })).toBe(true)
    expect(await b.ownership.alive(a.ownership.replicaId)).toBe(false)
  })

  it('lets a task go once it is deleted or finished', async () => {
    const [done, gone] = [await task(), await task()]
    const a = await replica('a')
    await until('a owns both', () => a.ownership.owned().size === 2)
    await db.pool.query("update tasks set status = 'completed' where id = $1", [done])
    await db.pool.query('delete from tasks where id = $1', [gone])
    await until('a lets both go', () => a.ownership.owned().size === 0)
    expect(
      a.events
        .filter((e) => e.type === 'lose')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual([done, gone].sort())
    // Let go for good: a second replica takes the finished task's lock at once.
    const { rows } = await db.pool.query<{ ok: boolean }>(
      'select pg_try_advisory_lock($1, hashtext($2)) as ok',
      [0x706f6c02, done],
    )
    expect(rows[0]!.ok).toBe(true)
  })

  it('takes over from a process killed with SIGKILL within the poll', async () => {
    const id = await task()
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'server/cluster/testing-owner.ts',
        db.url,
        `child-${id}`,
        String(POLL_MS),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      const lines = createInterface({ input: child.stdout })
      const [line] = (await Promise.race([
        once(lines, 'line'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('the child never owned')), 20_000),
        ),
      ])) as [string]
      expect(line).toBe(`owns ${id} 1`)
      const b = await replica('b')
      await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3))
      expect(b.ownership.owned().size).toBe(0)
      expect(await b.ownership.alive(`child-${id}`)).toBe(true)

      const killedAt = Date.now()
      child.kill('SIGKILL')
      const taken = await until('b takes over', () =>
        b.events.find((e) => e.type === 'acquire' && e.taskId === id),
      )
      expect(taken.epoch).toBe(2)
      // The documented bound: the socket closes with the process, then at most one poll.
      expect(taken.at - killedAt).toBeLessThan(POLL_MS + SLACK_MS)
      expect(await b.ownership.alive(`child-${id}`)).toBe(false)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
