import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { Metrics } from '../metrics/index.ts'
import type { Scheduler, SchedulerOptions } from '../rounds/types.ts'
import { createLedger } from './ledger.ts'
import { startOwnership, type Ownership } from './ownership.ts'
import { createClusterScheduler, type ClusterScheduler } from './scheduler.ts'

export { createLedger, type Ledger } from './ledger.ts'
export { startOwnership, type Ownership } from './ownership.ts'
export {
  createClusterScheduler,
  type ClusterScheduler,
  type ClusterSchedulerOptions,
} from './scheduler.ts'

export interface ClusterOptions {
  /** The process's pool on the database (the ledger's queries). */
  pool: pg.Pool
  /** Where Ownership opens its own connection (never a pooled one: it holds session locks). */
  connection: string | pg.ClientConfig
  replicaId?: string
  /** How often unowned tasks are tried and the task cache is read again (POLLEN_TAKEOVER_POLL_MS). */
  pollMs?: number
  /** How long a close waits for a live replica's partial before reading its spool. */
  partialWaitMs?: number
  /** The URLs this replica answers on, for the replicas table. */
  urls?: string[]
}

/** A replica's scheduler, with this replica's own gauges and the cluster's for /metrics. */
export interface ClusterRun extends Scheduler {
  readonly replicaId: string
  collect(metrics: Metrics): Promise<void>
}

/**
 * PostgreSQL mode's scheduler for createCoordinator: the cluster scheduler, whose start() also
 * starts this replica's Ownership (so tasks are taken once the cache is loaded) and whose stop()
 * gives every task up first (another replica takes them at its next poll).
 */
export function clusterScheduler(cluster: ClusterOptions) {
  return (options: SchedulerOptions): ClusterRun => {
    const { pool, pollMs = 1000 } = cluster
    let ownership: Ownership | undefined
    const scheduler: ClusterScheduler = createClusterScheduler({
      ...options,
      ledger: createLedger(pool),
      replicaId: cluster.replicaId ?? randomUUID(),
      alive: (id) => ownership?.alive(id) ?? Promise.resolve(true),
      pollMs: Math.min(pollMs, 500),
      ...(cluster.partialWaitMs ? { partialWaitMs: cluster.partialWaitMs } : {}),
    })
    const log = options.log ?? (() => {})
    return {
      ...scheduler,
      async start() {
        await scheduler.start()
        ownership = await startOwnership({
          connection: cluster.connection,
          replicaId: scheduler.replicaId,
          pollMs,
          ...(cluster.urls ? { urls: cluster.urls } : {}),
          onAcquire: (taskId, epoch) => scheduler.acquire(taskId, epoch),
          onLose: (taskId) => scheduler.lose(taskId),
          log,
        })
        log(`replica ${scheduler.replicaId} joined the cluster (takeover poll ${pollMs} ms)`)
      },
      async stop() {
        await ownership?.close()
        await scheduler.stop()
      },
      async collect(metrics) {
        metrics.set(
          'pollen_replica_tasks_owned',
          { replica: scheduler.replicaId },
          scheduler.owned().length,
        )
        // The cluster's view, from the database: every replica that heartbeats, alive or not.
        const { rows } = await pool.query<{ id: string; heartbeat_at: string }>(
          'select id, heartbeat_at from replicas order by id',
        )
        let alive = 0
        for (const row of rows) if (ownership && (await ownership.alive(row.id))) alive++
        metrics.set('pollen_cluster_replicas', { state: 'alive' }, alive)
        metrics.set('pollen_cluster_replicas', { state: 'registered' }, rows.length)
      },
    }
  }
}
