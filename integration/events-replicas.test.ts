// Two coordinators sharing one PostgreSQL event bus: a dashboard streaming from one sees what
// the other does, and resumes on it with Last-Event-ID. Each keeps its own PGlite store here:
// what is under test is only the events' path, through the unchanged SSE route.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerEvent } from '../shared/protocol/index.ts'
import { postgresEventBus, type PostgresEventBus } from '../server/events/index.ts'
import { migrate, postgresDatabase } from '../server/store/index.ts'
import { freshDatabase, testPool } from '../server/store/testing-pg.ts'
import { ADMIN_TOKEN, startCoordinator, waitFor, type Running } from './harness.ts'
import { readSse } from './sse.ts'

interface Received {
  id: number
  data: ServerEvent
}

/** An SSE stream of /api/v1/events, read into `events` until stopped. */
async function stream(url: string, lastEventId?: number) {
  const controller = new AbortController()
  const response = await fetch(`${url}/api/v1/events`, {
    signal: controller.signal,
    headers: {
      Authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(lastEventId === undefined ? {} : { 'Last-Event-ID': String(lastEventId) }),
    },
  })
  const events: Received[] = []
  let ready = false
  const pump = readSse(response.body!, ({ id, event, data }) => {
    if (event === 'ready') ready = true
    else if (id !== undefined)
      events.push({ id: Number(id), data: JSON.parse(data) as ServerEvent })
  })
  await waitFor(() => (ready ? true : undefined))
  return {
    events,
    async stop() {
      controller.abort()
      await pump
    },
  }
}

const createdIds = (events: Received[]) =>
  events.flatMap(({ data }) => (data.type === 'task.created' ? [data.task.id] : []))

describe('events across replicas', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let pool: pg.Pool
  const buses: PostgresEventBus[] = []
  let a: Running
  let b: Running

  beforeAll(async () => {
    database = await freshDatabase('it_events')
    pool = testPool(database.url, 4)
    await migrate(postgresDatabase(pool))
    for (let i = 0; i < 2; i++) buses.push(await postgresEventBus(pool))
    a = await startCoordinator({ events: buses[0]!, keepAliveMs: 200 })
    b = await startCoordinator({ events: buses[1]!, keepAliveMs: 200 })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    for (const bus of buses) await bus.close()
    await pool?.end()
    await database?.drop()
  })

  const createTask = (on: Running, name: string) =>
    on.admin.createTask({
      name,
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
    })

  it("streams one replica's events from another, and resumes there with Last-Event-ID", async () => {
    const onB = await stream(b.url)
    const first = await createTask(a, 'made on a')
    await waitFor(() => (createdIds(onB.events).includes(first.id) ? true : undefined))
    const lastSeen = onB.events.at(-1)!.id
    await onB.stop()

    // While no stream is open, both replicas go on.
    const second = await createTask(a, 'made on a, unseen')
    const third = await createTask(b, 'made on b, unseen')
    await Promise.all(buses.map((bus) => bus.flush()))

    // Resumed on the other replica (a, now): the missed events first, in id order, each once.
    const onA = await stream(a.url, lastSeen)
    const fourth = await createTask(b, 'made on b, live')
    await waitFor(() => (createdIds(onA.events).includes(fourth.id) ? true : undefined))
    await onA.stop()
    expect(createdIds(onA.events)).toEqual([second.id, third.id, fourth.id])
    const ids = onA.events.map((e) => e.id)
    expect(ids[0]).toBeGreaterThan(lastSeen)
    expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y))
  })
})
