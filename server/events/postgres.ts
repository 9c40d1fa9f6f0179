import type { Notification, Pool, PoolClient } from 'pg'
import type { ServerEvent } from '../../shared/protocol/index.ts'
import { CHANNEL, eventPublisher } from './postgres-publish.ts'
import { fanout } from './fanout.ts'
import type { EventBus } from './types.ts'

export interface PostgresEventBusOptions {
  /** Events kept in memory for since(), as the in-process bus keeps (default 1000). */
  replay?: number
  /** Rows kept in the `events` table, for a listener that was away a while (default 10 000). */
  keep?: number
  /** Most events stored by one transaction (default 500). */
  batch?: number
  /** Wait before a lost listener connection is made again: the first, doubling to the most. */
  reconnectMs?: { first?: number; max?: number }
  log?: (message: string) => void
}

export interface PostgresEventBus extends EventBus {
  /** Resolves once every event published here so far is stored and delivered here. */
  flush(): Promise<void>
  /** Stores what is queued, then stops listening and gives its connection back (closed). */
  close(): Promise<void>
}

/** Rows read per query while catching up. */
const PAGE = 500

/**
 * Events shared by every replica through the `events` table (migration 004) and LISTEN/NOTIFY.
 *
 * publish() queues the event for the table (postgres-publish.ts), whose ids commit in the order
 * they are drawn, so a reader that has seen id n has seen every id below it and may read on from
 * `id > n` without a gap. Every bus, the publisher's own included, LISTENs on one dedicated
 * connection and on each notification reads on from the last id it delivered,
 * so each subscriber gets every event once, in id order; a lost connection is made again and
 * reads on from there. since() answers from the newest `replay` events, loaded from the table at
 * start, so a stream may resume with Last-Event-ID on any replica. The listening connection is
 * one of the pool's for as long as the bus runs: the pool needs at least one more to publish.
 */
export async function postgresEventBus(
  pool: Pool,
  options: PostgresEventBusOptions = {},
): Promise<PostgresEventBus> {
  const { replay = 1000, keep = 10_000, batch = 500, log = () => {} } = options
  const { first: firstDelay = 100, max: maxDelay = 5000 } = options.reconnectMs ?? {}
  const local = fanout({ replay, log })
  let closed = false

  const publisher = eventPublisher(pool, { keep, batch, log })

  // Delivering: one dedicated connection LISTENs; reads run on it too, one at a time.
  let client: PoolClient | undefined
  let loaded = false
  let reading: Promise<void> | undefined
  let readAgain = false
  let reconnectTimer: NodeJS.Timeout | undefined
  let delay = firstDelay

  /** Reads events past `after` on the listening connection and hands them in, in id order. */
  const readPage = async (c: PoolClient, sql: string, values: unknown[]) => {
    const { rows } = await c.query<{ id: string; event: string }>(sql, values)
    for (const row of rows) {
      const id = Number(row.id)
      let event: ServerEvent
      try {
        event = JSON.parse(row.event) as ServerEvent
      } catch {
        log(`events: event ${id} is not JSON; skipped`)
        local.skip(id)
        continue
      }
      local.deliver({ id, event })
    }
    return rows.length
  }

  const readOn = async () => {
    for (;;) {
      const c = client
      if (c === undefined || !loaded) return
      const read = await readPage(
        c,
        'select id, event from events where id > $1 order by id limit $2',
        [local.last(), PAGE],
      )
      if (read < PAGE) return
    }
  }

  // Single flight: a notification during a read asks for one more read after it.
  const read = () => {
    if (reading) {
      readAgain = true
      return reading
    }
    reading = (async () => {
      do {
        readAgain = false
        await readOn()
      } while (readAgain && !closed)
    })()
      .catch((error: unknown) => {
        if (!closed) log(`events: reading failed: ${(error as Error).message}`)
      })
      .finally(() => (reading = undefined))
    return reading
  }

  let lastError: Error | undefined
  const again = (why: string, error: Error | undefined) => {
    lastError = error
    if (closed) return
    log(`events: ${why} (${error?.message ?? 'ended'}); listening again in ${delay} ms`)
    reconnectTimer = setTimeout(() => void connect(), delay)
    delay = Math.min(maxDelay, delay * 2)
  }

  const lost = (c: PoolClient, error: Error | undefined) => {
    if (client !== c) return
    client = undefined
    c.release(error ?? true)
    again('listener connection lost', error)
  }

  const connect = async (): Promise<void> => {
    reconnectTimer = undefined
    let c: PoolClient | undefined
    try {
      c = await pool.connect()
      const own = c
      own.on('error', (error) => lost(own, error))
      own.on('end', () => lost(own, undefined))
      own.on('notification', (message: Notification) => {
        if (message.channel === CHANNEL) void read()
      })
      client = own
      await own.query(`set application_name = 'pollen-events'`)
      await own.query(`listen ${CHANNEL}`)
      delay = firstDelay
    } catch (error) {
      // Connected but failed: lost() (now, or already by the client's error event) tries again.
      if (c === undefined) again('could not connect', error as Error)
      else lost(c, error as Error)
      return
    }
    await read()
  }

  // Start: listen first, then load the newest events, so none falls between the two.
  await connect()
  if (client === undefined) {
    closed = true
    clearTimeout(reconnectTimer)
    throw new Error(`events: could not LISTEN on the database: ${lastError?.message ?? 'ended'}`)
  }
  await readPage(
    client,
    'select id, event from (select id, event from events order by id desc limit $1) t order by id',
    [replay],
  )
  loaded = true
  await read()

  return {
    publish(event) {
      if (closed) {
        log(`events: ${event.type} published after close; dropped`)
        return
      }
      publisher.publish(JSON.stringify(event))
    },
    subscribe: local.subscribe,
    since: local.since,
    async flush() {
      const lastPublished = await publisher.stored()
      if (!closed) await local.until(lastPublished)
    },
    async close() {
      if (closed) return
      await publisher.stored()
      closed = true
      clearTimeout(reconnectTimer)
      const c = client
      if (c !== undefined) lost(c, undefined)
      await reading
      local.release()
    },
  }
}
