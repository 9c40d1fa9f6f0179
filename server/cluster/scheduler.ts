import type { TimerHandle } from '../clock/index.ts'
import { PollenError } from '../errors.ts'
import { createCommit } from '../rounds/commit.ts'
import { createCore } from '../rounds/live.ts'
import { createPrivacyBudget } from '../rounds/privacy-budget.ts'
import { createQueries } from '../rounds/queries.ts'
import { createTasks } from '../rounds/tasks.ts'
import type { Scheduler, SchedulerOptions } from '../rounds/types.ts'
import type { TaskRecord } from '../store/index.ts'
import { strategyFor, type Strategy } from '../strategy/index.ts'
import { clusterPolicy, createTaskCache } from './cache.ts'
import { createClusterCheckin } from './checkin.ts'
import { createClusterDownloads } from './downloads.ts'
import type { Ledger } from './ledger.ts'
import { createOwner } from './owner.ts'
import { createPartials } from './partials.ts'
import { createClusterPrivacy } from './privacy.ts'
import { createClusterSecure } from './secure.ts'
import { createClusterUploads } from './uploads.ts'

export interface ClusterSchedulerOptions extends SchedulerOptions {
  ledger: Ledger
  /** This replica's id (its Ownership's). */
  replicaId: string
  /** Whether another replica is alive (Ownership.alive): a dead one's partial is not waited for. */
  alive: (replicaId: string) => Promise<boolean>
  /** How often the task cache is read again and owned rounds are checked (ms). */
  pollMs?: number
  /** How long the owner waits at a close for a live replica's partial before reading its spool. */
  partialWaitMs?: number
}

export interface ClusterScheduler extends Scheduler {
  readonly replicaId: string
  /** Ownership.onAcquire: the task is this replica's to run (carrying on any open round). */
  acquire(taskId: string, epoch: number): Promise<void>
  /** Ownership.onLose: it no longer is. */
  lose(taskId: string): void
  /** The tasks this replica owns now. */
  owned(): string[]
}

const NOT_YET = 'not yet on PostgreSQL replicas'

/** What a task asks for that replicas cannot run yet: 400 naming the field. */
function refuse(spec: {
  mode?: unknown
  secureAggregation?: unknown
  compression?: { uploads?: unknown }
}) {
  if (spec.mode === 'async')
    throw new PollenError('invalid_request', `mode: async rounds are ${NOT_YET}`, 'mode')
  refuseSecureBits(!!spec.secureAggregation, spec.compression?.uploads)
}

/**
 * b-bit secure aggregation (shared/secagg/ring.ts): replicas' partial sums, spooled frames and
 * replayed logs all assume 32-bit words of the model's length, so it runs on one process only.
 */
function refuseSecureBits(secure: boolean, uploads: unknown) {
  if (secure && Array.isArray(uploads) && uploads.some((c) => /^bbit/.test(String(c))))
    throw new PollenError(
      'invalid_request',
      `compression.uploads: b-bit secure aggregation is ${NOT_YET}; use ["float32"]`,
      'compression.uploads',
    )
}

/**
 * The round scheduler of PostgreSQL mode, for any number of identical replicas on one
 * database: every replica serves check-ins, downloads and uploads through the ledger (the round
 * in the database is the truth), and the replica that owns a task (Ownership's advisory lock)
 * opens and closes its rounds, merging every replica's partial aggregation. Sync rounds, with
 * or without secure aggregation (secure.ts), with or without differential privacy (privacy.ts);
 * async rounds are refused for now.
 */
export function createClusterScheduler(options: ClusterSchedulerOptions): ClusterScheduler {
  const { ledger, replicaId, alive, pollMs = 500, partialWaitMs = 5000 } = options
  const stopping = new AbortController()
  const core = createCore(options, stopping.signal)
  const { clock, log } = core
  const strategyOf = (task: TaskRecord): Strategy =>
    options.strategy ??
    strategyFor(task.spec.aggregation, { log: (message) => log(`task ${task.id} ${message}`) })

  const budget = createPrivacyBudget(core)
  const tasks = createTasks(core, {
    budget,
    strategyOf,
    policyOf: () => clusterPolicy,
    // The owner opens rounds (and picks a new task up on its next poll).
    openNextRound: (live) => nudge(live.record.id),
  })
  // The owner is made below; the cache asks it which tasks it is closing.
  const cache = createTaskCache(core, {
    ledger,
    addLiveTask: tasks.addLiveTask,
    busy: (id) => owner.busy(id),
  })
  const secure = createClusterSecure(core, { ledger, cache })
  const partials = createPartials(core, {
    ledger,
    replicaId,
    alive,
    waitMs: partialWaitMs,
    pollMs: Math.min(pollMs, 100),
    masked: secure.masked,
  })
  const owner = createOwner(core, {
    ledger,
    cache,
    partials,
    secure,
    privacy: createClusterPrivacy(core, { ledger, budget }),
    commit: createCommit(core),
  })
  const selection = createClusterCheckin(core, {
    ledger,
    secure,
    replicaId,
    retry: options.retry ?? { minSeconds: 1, maxSeconds: 10 },
    random: options.random ?? Math.random,
  })
  const uploads = createClusterUploads(core, {
    ledger,
    cache,
    secure,
    replicaId,
    reached: (live) => nudge(live.record.id),
  })

  /** A look by the owner at a task it owns, unless one is waiting to run already. */
  const nudged = new Set<string>()
  function nudge(taskId: string) {
    if (!owner.owns(taskId) || nudged.has(taskId)) return
    nudged.add(taskId)
    void owner.check(taskId).finally(() => nudged.delete(taskId))
  }

  // A round that reached its target on another replica says so in its event (fanned out).
  const unsubscribe = core.events.subscribe(({ event }) => {
    if (event.type === 'round.updated') nudge(event.taskId)
  })

  let timer: TimerHandle | undefined
  let polling: Promise<void> = Promise.resolve()
  /** The cache read again, owned tasks checked, the partials of closing rounds written. */
  async function poll() {
    await cache.refresh()
    for (const id of owner.owned()) nudge(id)
    for (const live of core.tasks.values())
      if (live.open?.phase === 'closing') await partials.write(live, live.open)
  }
  function schedule() {
    if (stopping.signal.aborted) return
    timer = clock.setTimeout(() => {
      polling = poll()
        .catch((error: unknown) => log(`replica ${replicaId} poll failed: ${String(error)}`))
        .finally(schedule)
    }, pollMs)
  }

  const queries = createQueries(core)
  return {
    replicaId,
    async start() {
      await cache.refresh()
      schedule()
    },
    async stop() {
      stopping.abort()
      if (timer) clock.clearTimeout(timer)
      unsubscribe()
      owner.stop()
      await polling
      await owner.settled()
    },
    settled: () => owner.settled(),
    async createTask(spec) {
      refuse(spec)
      return tasks.createTask(spec)
    },
    // A PATCH cannot ask for async rounds, but may ask a secure task for b-bit uploads.
    async patchTask(id, patch) {
      const secure = !!core.tasks.get(id)?.record.spec.secureAggregation
      refuseSecureBits(secure, patch.compression?.uploads)
      return tasks.patchTask(id, patch)
    },
    deleteTask: tasks.deleteTask,
    checkin: selection.checkin,
    upload: uploads.upload,
    downloaded: createClusterDownloads(core, ledger),
    secureView: secure.view,
    secureKeys: secure.keys,
    secureShares: secure.shares,
    secureReveal: secure.reveal,
    ...queries,
    acquire: owner.acquire,
    lose: owner.lose,
    owned: owner.owned,
  }
}
