import { randomUUID } from 'node:crypto'
import pg from 'pg'

/**
 * Advisory lock namespaces (the two-int form: namespace, hashtext(id)), clear of the
 * migrations' single bigint key. Two task ids with one hash share a lock: then one replica owns
 * both (session locks are re-entrant), which is safe.
 */
export const REPLICA_LOCKS = 0x706f6c01
export const TASK_LOCKS = 0x706f6c02

/**
 * TCP keepalives on the dedicated connection, on both ends: PostgreSQL ends the session of a
 * replica whose host died (its locks with it) after idle + interval × count seconds.
 */
export interface Keepalive {
  idleSeconds: number
  intervalSeconds: number
  count: number
}
const KEEPALIVE: Keepalive = { idleSeconds: 10, intervalSeconds: 5, count: 3 }

export interface OwnershipOptions {
  /** A connection string or node-postgres config for the dedicated connection. */
  connection: string | pg.ClientConfig
  replicaId?: string
  /** How often unowned tasks are tried (POLLEN_TAKEOVER_POLL_MS). */
  pollMs?: number
  /** How often the replicas row is refreshed; a heartbeat that fails loses every task. */
  heartbeatMs?: number
  /** After losing the connection, how long before it connects again. */
  reconnectMs?: number
  keepalive?: Keepalive
  urls?: string[]
  /** This replica now owns the task, at `epoch` (every owner write is fenced by it). */
  onAcquire(taskId: string, epoch: number): void | Promise<void>
  /** This replica no longer owns the task (deleted or finished, or the connection failed). */
  onLose(taskId: string): void
  log?: (message: string) => void
  now?: () => number
}

export interface Ownership {
  readonly replicaId: string
  /** Tasks this replica owns now, with the epoch it took each at. */
  owned(): ReadonlyMap<string, number>
  /** Whether replica `id` is alive (its advisory lock is held). */
  alive(id: string): Promise<boolean>
  /** Stop: release every lock, close the dedicated connection, delete the replicas row. */
  close(): Promise<void>
}

const tryLock = async (c: pg.Client, namespace: number, id: string) =>
  (
    await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [
      namespace,
      id,
    ])
  ).rows[0]?.ok === true

/** A connection whose failure or end no longer means anything (it is being let go). */
function quiet(c: pg.Client) {
  c.removeAllListeners('end')
  c.removeAllListeners('error')
  return c.on('error', () => {})
}

/** Whether a replica holds its lock: free means dead (taken to test, and let go at once). */
async function isAlive(c: pg.Client, id: string) {
  const { rows } = await c.query<{ alive: boolean }>(
    `select case when pg_try_advisory_lock($1, hashtext($2))
       then not pg_advisory_unlock($1, hashtext($2)) else true end as alive`,
    [REPLICA_LOCKS, id],
  )
  return rows[0]?.alive === true
}

async function release(c: pg.Client, taskId: string) {
  await c.query('select pg_advisory_unlock($1, hashtext($2))', [TASK_LOCKS, taskId])
}

/**
 * The dedicated connection, with its keepalives, the replica's own lock and its replicas row.
 * `gone` is told when it fails or closes.
 */
async function openSession(
  o: Pick<OwnershipOptions, 'connection'> &
    Required<Pick<OwnershipOptions, 'replicaId' | 'keepalive' | 'heartbeatMs' | 'urls' | 'now'>>,
  gone: (why: string) => void,
): Promise<pg.Client> {
  const { replicaId, keepalive } = o
  const config =
    typeof o.connection === 'string' ? { connectionString: o.connection } : o.connection
  const c = new pg.Client({
    ...config,
    keepAlive: true,
    keepAliveInitialDelayMillis: keepalive.idleSeconds * 1000,
    application_name: `pollen-ownership-${replicaId}`,
    // A heartbeat or poll that hangs (a partition) counts as a lost connection.
    query_timeout: Math.max(o.heartbeatMs, 5000),
  })
  await c.connect()
  c.on('error', (error) => gone(String(error)))
  c.on('end', () => gone('closed'))
  await c.query(
    `set tcp_keepalives_idle = ${keepalive.idleSeconds};
     set tcp_keepalives_interval = ${keepalive.intervalSeconds};
     set tcp_keepalives_count = ${keepalive.count}`,
  )
  if (!(await tryLock(c, REPLICA_LOCKS, replicaId))) {
    await c.end()
    throw new Error(`replica id ${replicaId} is in use by another replica`)
  }
  await c.query(
    `insert into replicas (id, started_at, heartbeat_at, urls) values ($1, $2, $2, $3)
     on conflict (id) do update set heartbeat_at = excluded.heartbeat_at, urls = excluded.urls`,
    [replicaId, o.now(), JSON.stringify(o.urls)],
  )
  return c
}

/**
 * Which replica owns each task: whoever holds its session advisory lock, on one dedicated
 * connection per replica (never a pooled one, whose session outlives a checkout).
 *
 * Takeover bound: a process that dies (kill -9, crash) closes its socket, PostgreSQL ends the
 * session and frees its locks at once; another replica takes each task at its next poll, so
 * within pollMs (plus the task's onAcquire). A host that dies without closing its socket is
 * noticed by the server's keepalives: idle + interval × count seconds (10 + 5 × 3 = 25 s by
 * default), then ≤ pollMs. A replica that cannot reach the database stops acting as owner at
 * once (onLose for every task), before the server lets the locks go: with the epoch fence on
 * every owner write, two replicas never both write a round.
 */
export async function startOwnership(options: OwnershipOptions): Promise<Ownership> {
  const {
    replicaId = randomUUID(),
    pollMs = 1000,
    heartbeatMs = 5000,
    reconnectMs = Math.max(pollMs, 1000),
    keepalive = KEEPALIVE,
    urls = [],
    log = () => {},
    now = Date.now,
  } = options
  const owned = new Map<string, number>()
  let client: pg.Client | undefined
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let beat: NodeJS.Timeout | undefined
  /** The poll or heartbeat running now: close() waits for it. */
  let running: Promise<void> = Promise.resolve()

  /** Every task is lost at once: without the connection, nothing proves the locks are held. */
  function lost(why: string) {
    if (!client) return
    log(`replica ${replicaId}: ownership connection lost (${why}); releasing ${owned.size} tasks`)
    void quiet(client)
      .end()
      .catch(() => {})
    client = undefined
    const tasks = [...owned.keys()]
    owned.clear()
    for (const id of tasks) options.onLose(id)
    clearTimeout(timer)
    clearInterval(beat)
    if (!stopped) timer = setTimeout(() => void reconnect(), reconnectMs)
  }

  const connect = () =>
    openSession({ ...options, replicaId, keepalive, heartbeatMs, urls, now }, (why) => lost(why))

  /** One step on the connection, serialized with the others; a failure loses the connection. */
  function step(fn: (c: pg.Client) => Promise<void>): Promise<void> {
    running = running.then(async () => {
      const c = client
      if (!c || stopped) return
      try {
        await fn(c)
      } catch (error) {
        if (client === c) lost(String(error))
      }
    })
    return running
  }

  async function acquire(c: pg.Client, taskId: string) {
    if (!(await tryLock(c, TASK_LOCKS, taskId))) return
    const bumped = await c.query<{ owner_epoch: string }>(
      'update tasks set owner_epoch = owner_epoch + 1 where id = $1 returning owner_epoch',
      [taskId],
    )
    const epoch = bumped.rows[0] && Number(bumped.rows[0].owner_epoch)
    if (epoch === undefined) {
      await release(c, taskId)
      return
    }
    owned.set(taskId, epoch)
    log(`replica ${replicaId}: owns task ${taskId} at epoch ${epoch}`)
    try {
      await options.onAcquire(taskId, epoch)
    } catch (error) {
      // Not carried on: let it go, for this replica's next poll or another's.
      log(`replica ${replicaId}: could not take task ${taskId}: ${String(error)}`)
      owned.delete(taskId)
      await release(c, taskId)
    }
  }

  const poll = () =>
    step(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        "select id from tasks where status in ('running', 'paused') order by created_at, id",
      )
      const live = new Set(rows.map((r) => r.id))
      for (const id of [...owned.keys()])
        if (!live.has(id)) {
          // Stop acting as owner before the lock is free for another replica.
          owned.delete(id)
          options.onLose(id)
          await release(c, id)
        }
      for (const id of live) if (!owned.has(id) && client === c) await acquire(c, id)
    })

  const heartbeat = () =>
    step(async (c) => {
      await c.query('update replicas set heartbeat_at = $2 where id = $1', [replicaId, now()])
    })

  function schedule() {
    // This connection's loop: it ends when the connection is lost (a new one starts its own).
    const c = client
    const loop = async () => {
      await poll()
      if (!stopped && client === c) timer = setTimeout(() => void loop(), pollMs)
    }
    beat = setInterval(() => void heartbeat(), heartbeatMs)
    void loop()
  }

  async function reconnect() {
    if (stopped) return
    try {
      client = await connect()
      log(`replica ${replicaId}: ownership connection open again`)
      schedule()
    } catch (error) {
      log(`replica ${replicaId}: cannot open the ownership connection: ${String(error)}`)
      timer = setTimeout(() => void reconnect(), reconnectMs)
    }
  }

  client = await connect()
  schedule()
  await running

  return {
    replicaId,
    owned: () => new Map(owned),
    async alive(id) {
      if (id === replicaId) return client !== undefined
      if (!client) throw new Error(`replica ${replicaId}: the ownership connection is down`)
      return isAlive(client, id)
    },
    async close() {
      stopped = true
      clearTimeout(timer)
      clearInterval(beat)
      await running
      const c = client
      client = undefined
      owned.clear()
      if (!c) return
      quiet(c)
      try {
        await c.query('select pg_advisory_unlock_all()')
        await c.query('delete from replicas where id = $1', [replicaId])
      } finally {
        await c.end()
      }
    },
  }
}
