import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ServerEvent } from '../../shared/protocol/index.ts'
import { migrate, postgresDatabase } from '../store/index.ts'
import { freshDatabase, testPool } from '../store/testing-pg.ts'
import {
  postgresEventBus,
  type PostgresEventBus,
  type PostgresEventBusOptions,
} from './postgres.ts'
import type { StampedEvent } from './types.ts'

let database: Awaited<ReturnType<typeof freshDatabase>>
let pool: pg.Pool
const opened: PostgresEventBus[] = []

beforeAll(async () => {
  database = await freshDatabase('events')
  pool = testPool(database.url, 8)
  await migrate(postgresDatabase(pool))
})
afterEach(async () => {
  for (const bus of opened.splice(0)) await bus.close()
  await pool.query('truncate events')
})
afterAll(async () => {
  await pool?.end()
  await database?.drop()
})

const start = async (options: PostgresEventBusOptions = {}) => {
  const bus = await postgresEventBus(pool, options)
  opened.push(bus)
  return bus
}
const deleted = (taskId: string): ServerEvent => ({ type: 'task.deleted', taskId })
const taskIds = (events: StampedEvent[]) =>
  events.map(({ event }) => (event.type === 'task.deleted' ? event.taskId : event.type))
const record = (bus: PostgresEventBus, after?: number) => {
  const seen: StampedEvent[] = []
  bus.subscribe((e) => seen.push(e), after)
  return seen
}
/** Resolves once `check` holds, polling; fails the test after a few seconds. */
async function eventually(check: () => boolean | Promise<boolean>, what: string) {
  for (let waited = 0; !(await check()); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const listeners = async () =>
  (
    await pool.query<{ pid: number }>(
      `select pid from pg_stat_activity
       where datname = current_database() and application_name = 'pollen-events'`,
    )
  ).rows.map((r) => r.pid)

describe('PostgreSQL event bus', () => {
  it('delivers every event of both replicas to both, once each, in one order', async () => {
    const a = await start()
    const b = await start()
    const seenByA = record(a)
    const seenByB = record(b)
    for (let i = 0; i < 100; i++) {
      a.publish(deleted(`a${i}`))
      b.publish(deleted(`b${i}`))
    }
    await Promise.all([a.flush(), b.flush()])
    await eventually(() => seenByA.length === 200 && seenByB.length === 200, '200 events each')
    expect(seenByA).toEqual(seenByB)
    const ids = seenByA.map((e) => e.id)
    expect(ids).toEqual([...ids].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(200)
    // Each replica's own events keep the order it published them in.
    const names = taskIds(seenByA)
    for (const replica of ['a', 'b'])
      expect(names.filter((n) => n.startsWith(replica))).toEqual(
        Array.from({ length: 100 }, (_, i) => `${replica}${i}`),
      )
    // The table agrees: the stream's ids are its rows' ids.
    const { rows } = await pool.query<{ id: string }>('select id from events order by id')
    expect(rows.map((r) => Number(r.id))).toEqual(ids)
  })

  it('loses no event to publishers committing out of step (ids commit in order)', async () => {
    // Four replicas storing one event per transaction at once: without publishers queueing on
    // the lock, an id drawn early could commit after a later one a reader has already passed.
    const buses = await Promise.all([1, 2, 3, 4].map(() => start({ batch: 1 })))
    const seen = buses.map((bus) => record(bus))
    for (let i = 0; i < 100; i++)
      for (const [k, bus] of buses.entries()) bus.publish(deleted(`${k}.${i}`))
    await Promise.all(buses.map((bus) => bus.flush()))
    for (const events of seen) {
      await eventually(() => events.length >= 400, 'every event on every replica')
      expect(events.map((e) => e.id)).toEqual(seen[0]!.map((e) => e.id))
    }
    expect(new Set(seen[0]!.map((e) => e.id)).size).toBe(400)
  })

  it('lets a stream that left one replica resume on another, missing nothing, twice nothing', async () => {
    const a = await start()
    const b = await start()
    const first = record(a)
    a.publish(deleted('one'))
    a.publish(deleted('two'))
    await a.flush()
    const lastEventId = first.at(-1)!.id
    // The stream is gone; meanwhile more happens, published on either replica.
    a.publish(deleted('three'))
    await a.flush()
    b.publish(deleted('four'))
    await b.flush() // b has delivered 'four', so 'three' (an id before it) too
    // As the SSE route does on b: the backlog after Last-Event-ID, then live events after it.
    const resumed = [...b.since(lastEventId)]
    b.subscribe((e) => resumed.push(e), lastEventId)
    a.publish(deleted('five'))
    await a.flush()
    await eventually(() => resumed.length >= 3, 'the live event')
    expect(taskIds(resumed)).toEqual(['three', 'four', 'five'])
  })

  it('skips, live, what a stream saw on a replica that was ahead of this one', async () => {
    const a = await start()
    const b = await start()
    // Ids come from the sequence in publish order: the next two will be drawn right after n.
    const { rows } = await pool.query<{ n: string }>("select nextval('events_id_seq') as n")
    const lastEventId = Number(rows[0]!.n) + 2
    // The stream saw up to 'two' on a; b has not delivered it yet: its live stream must not
    // repeat it.
    const resumed = record(b, lastEventId)
    a.publish(deleted('one'))
    a.publish(deleted('two'))
    a.publish(deleted('three'))
    await a.flush()
    await b.flush()
    await eventually(() => b.since(0).length === 3, 'b to deliver three')
    expect(a.since(0).map((e) => e.id)).toEqual([1, 2, 3].map((k) => lastEventId - 2 + k))
    expect(taskIds(resumed)).toEqual(['three'])
  })

  it('carries an event far over NOTIFY’s 8000-byte payload whole', async () => {
    const a = await start()
    const b = await start()
    const seen = record(b)
    const big = deleted('x'.repeat(200_000) + 'é✓')
    a.publish(big)
    await a.flush()
    await eventually(() => seen.length === 1, 'the big event')
    expect(seen[0]!.event).toEqual(big)
  })

  it('answers since() on a replica started later from the table', async () => {
    const a = await start()
    for (let i = 0; i < 5; i++) a.publish(deleted(`t${i}`))
    await a.flush()
    const later = await start({ replay: 3 })
    expect(taskIds(later.since(0))).toEqual(['t2', 't3', 't4'])
    const firstId = a.since(0)[0]!.id
    expect(taskIds(later.since(firstId + 2))).toEqual(['t3', 't4'])
  })

  it('listens again when its connection drops, and delivers what it missed', async () => {
    const a = await start()
    const b = await start({ reconnectMs: { first: 50, max: 200 } })
    const seen = record(b)
    a.publish(deleted('before'))
    await a.flush()
    await eventually(() => seen.length === 1, 'the first event')
    const before = await listeners()
    expect(before).toHaveLength(2)
    // Kill b's listening connection (a's is the other): a's next events land while b is away.
    const [killed] = (
      await pool.query<{ pid: number }>(
        `select pg_terminate_backend(pid), pid from pg_stat_activity
         where application_name = 'pollen-events' and datname = current_database()
         order by backend_start desc limit 1`,
      )
    ).rows
    expect(killed).toBeDefined()
    for (let i = 0; i < 3; i++) a.publish(deleted(`while away ${i}`))
    await a.flush()
    a.publish(deleted('after'))
    await a.flush()
    await eventually(() => seen.length === 5, 'the missed events')
    expect(taskIds(seen)).toEqual([
      'before',
      'while away 0',
      'while away 1',
      'while away 2',
      'after',
    ])
    const after = await listeners()
    expect(after).toHaveLength(2)
    expect(after).not.toContain(killed!.pid)
  })

  it('keeps a subscriber that throws from stopping the others', async () => {
    const logged: string[] = []
    const a = await start({ log: (line) => logged.push(line) })
    a.subscribe(() => {
      throw new Error('boom')
    })
    const seen = record(a)
    a.publish(deleted('one'))
    await a.flush()
    expect(taskIds(seen)).toEqual(['one'])
    expect(logged.join('\n')).toMatch(/subscriber failed on event \d+: boom/)
  })

  it('logs and drops a batch the database refuses, and publishes on after it', async () => {
    const logged: string[] = []
    const a = await start({ log: (line) => logged.push(line) })
    const seen = record(a)
    await pool.query('alter table events rename to events_away')
    try {
      a.publish(deleted('lost'))
      await a.flush()
    } finally {
      await pool.query('alter table events_away rename to events')
    }
    expect(logged.join('\n')).toMatch(/events: 1 not published: .*events/)
    a.publish(deleted('next'))
    await a.flush()
    expect(taskIds(seen)).toEqual(['next'])
  })

  it('prunes the table to the newest rows it keeps', async () => {
    const a = await start({ keep: 50, batch: 20 })
    for (let i = 0; i < 300; i++) a.publish(deleted(`t${i}`))
    await a.flush()
    const { rows } = await pool.query<{ n: string; newest: string }>(
      'select count(*) as n, max(id) as newest from events',
    )
    expect(Number(rows[0]!.n)).toBeLessThanOrEqual(50 + 100)
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(50)
    expect(Number(rows[0]!.newest)).toBe(a.since(0).at(-1)!.id)
  })

  it('gives its connection back on close, and drops what is published after', async () => {
    const logged: string[] = []
    const a = await start({ log: (line) => logged.push(line) })
    a.publish(deleted('last'))
    await a.close()
    // Its connection is ended; the server's backend leaves pg_stat_activity a moment after.
    await eventually(async () => (await listeners()).length === 0, 'the listener connection gone')
    const { rows } = await pool.query<{ event: string }>('select event from events')
    expect(rows.map((r) => JSON.parse(r.event) as unknown)).toEqual([deleted('last')])
    a.publish(deleted('too late'))
    expect(logged.join('\n')).toMatch(/task.deleted published after close; dropped/)
    await eventually(() => pool.idleCount === pool.totalCount, 'every pool client back')
  })

  it('fails to start, with a clear error, where it cannot listen', async () => {
    const nowhere = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectionTimeoutMillis: 2000,
    })
    await expect(postgresEventBus(nowhere)).rejects.toThrow(/could not LISTEN/)
    await nowhere.end()
  })
})
