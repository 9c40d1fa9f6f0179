import { Hono } from 'hono'
import type { Examples } from '../shared/data/index.ts'
import { MNIST_DATASET } from '../shared/protocol/index.ts'
import type { ModelBudget } from '../shared/models/index.ts'
import { adminRoutes } from './api/admin.ts'
import { isAdmin, requireAdmin } from './api/auth.ts'
import { openToOtherOrigins } from './api/cors.ts'
import { datasetRoutes } from './api/datasets.ts'
import { deviceRoutes } from './api/device.ts'
import { DEFAULT_BODY_TIMEOUTS, type BodyTimeouts } from './api/body.ts'
import { bodyPool } from './api/body-pool.ts'
import { onError } from './api/errors.ts'
import { loadShedder } from './api/shed.ts'
import { refuseBadUrlText } from './api/text.ts'
import { uploadGate, type UploadLimits } from './api/uploads.ts'
import { openApiDocument } from './api/openapi.ts'
import type { BlobStore } from './blobs/index.ts'
import { systemClock, type Clock } from './clock/index.ts'
import {
  createDatasets,
  DEFAULT_HELD_OUT_LIMITS,
  type DatasetsOptions,
  type SharedDatasets,
  type HeldOutLimits,
} from './datasets/index.ts'
import { heldOutEvaluator, type Evaluator } from './evaluation/index.ts'
import { createEventBus, type EventBus } from './events/index.ts'
import { createHealth } from './health/index.ts'
import { createMetrics, type Metrics } from './metrics/index.ts'
import { countDevices } from './devices/index.ts'
import { createModelRegistry, workerBuilder } from './models/index.ts'
import type { RetryDelays } from './rounds/retry.ts'
import { createScheduler, type Scheduler, type SchedulerOptions } from './rounds/index.ts'
import type { Store } from './store/index.ts'
import { securityHeaders, staticRoutes } from './static/index.ts'
import type { Strategy } from './strategy/index.ts'

export interface CoordinatorOptions {
  store: Store
  blobs: BlobStore
  adminToken: string
  /** Where events go and come from; default: in this process. Its owner closes it. */
  events?: EventBus
  clock?: Clock
  /** One strategy for every task (tests); by default each task's spec chooses its own. */
  strategy?: Strategy
  /**
   * Held-out sets of the built-in datasets (`mnist`: the MNIST test split), stored as the
   * dataset's held-out blob when the coordinator declares it (a data dir without it). Every
   * other dataset's set is uploaded (PUT /api/v1/datasets/:name/held-out).
   */
  heldOut?: ReadonlyMap<string, Examples>
  /** Bounds on a held-out upload: its body, what it expands to, its examples. */
  heldOutLimits?: Partial<HeldOutLimits>
  evaluator?: Evaluator
  retry?: { minSeconds: number; maxSeconds: number }
  keepAliveMs?: number
  /** When devices are told to come back later (api/shed.ts): requests in flight, a busy loop. */
  shedding?: { maxInFlight?: number; maxBusyMs?: number }
  /** Uploads read at once, per device and in all (api/uploads.ts). */
  uploads?: Partial<UploadLimits>
  /** How long an upload's body may take to arrive (api/body.ts). */
  bodyTimeouts?: Partial<BodyTimeouts>
  /** The built phone app and the public files; default: dist/client and public/ in the repo. */
  clientDir?: string
  publicDir?: string
  log?: (message: string) => void
  /** How a failing write (a round's new model) is retried; default: 1 s doubling to 30 s. */
  storageRetry?: Partial<RetryDelays>
  /** Custom models: the check's budget, and how long one build may take (default 20 s). */
  models?: { budget?: ModelBudget; buildTimeoutMs?: number }
  /**
   * Which scheduler runs the rounds: by default the in-process one (embedded mode); PostgreSQL
   * mode's replicas pass the cluster's (server/cluster), whose `collect` adds its gauges.
   */
  scheduler?: (options: SchedulerOptions) => CollectingScheduler
  /** PostgreSQL mode: other replicas change the datasets too (datasets/mirror.ts). */
  sharedDatasets?: SharedDatasets
}

/** A scheduler that may add gauges of its own to /metrics (the cluster's). */
type CollectingScheduler = Scheduler & { collect?: (metrics: Metrics) => Promise<void> }

/** Wires the coordinator: scheduler, REST API, device protocol, events and metrics. */
export async function createCoordinator(options: CoordinatorOptions) {
  const { store, blobs, adminToken, clock = systemClock, log = () => {} } = options
  const events = options.events ?? createEventBus()
  const metrics = createMetrics()
  const health = createHealth({ clock })
  const models = createModelRegistry({
    blobs,
    ...(options.models?.budget ? { budget: options.models.budget } : {}),
    builder: workerBuilder({
      ...(options.models?.buildTimeoutMs ? { timeoutMs: options.models.buildTimeoutMs } : {}),
    }),
  })
  const datasets = await startDatasets(
    { store, blobs, clock, shared: options.sharedDatasets, log },
    options.heldOut,
  )
  const evaluator =
    options.evaluator ?? heldOutEvaluator({ heldOut: (name) => datasets.examples(name) })
  const scheduler: CollectingScheduler = (options.scheduler ?? createScheduler)({
    store,
    models,
    evaluator,
    datasets,
    // Without a strategy pinned here, each task gets its own, as its spec asks.
    ...(options.strategy ? { strategy: options.strategy } : {}),
    clock,
    events,
    metrics,
    log,
    health,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.storageRetry ? { storageRetry: options.storageRetry } : {}),
  })
  await scheduler.start()
  const { collect } = scheduler
  if (collect) metrics.collectWith((m) => collect(m))

  metrics.collectWith((m) => {
    const tasks = scheduler.snapshot()
    for (const t of tasks) {
      m.set('pollen_round_selected', { task: t.id }, t.selected)
      m.set('pollen_round_reported', { task: t.id }, t.reported)
    }
    const byStatus = new Map<string, number>()
    for (const t of tasks) byStatus.set(t.status, (byStatus.get(t.status) ?? 0) + 1)
    for (const [status, n] of byStatus) m.set('pollen_tasks', { status }, n)
    m.set('process_resident_memory_bytes', {}, process.memoryUsage().rss)
  })
  const shed = loadShedder({
    ...options.shedding,
    ...(options.retry ? { retry: options.retry } : {}),
    // The admin downloads models on a route devices share: never shed.
    exempt: (c) => isAdmin(c, adminToken),
  })
  const uploads = uploadGate(options.uploads)
  metrics.collectWith((m) => {
    m.set('pollen_device_requests_in_flight', {}, shed.inFlight())
    m.set('pollen_uploads_in_flight', {}, uploads.open())
  })
  metrics.collectWith(async (m) => {
    const devices = countDevices(await store.listDevices(), clock.now())
    m.set('pollen_devices', { state: 'enrolled' }, devices.enrolled)
    m.set('pollen_devices', { state: 'active' }, devices.active)
  })

  // Where phones open the app: known once the server listens (main.ts tells us).
  let join: JoinInfo = { phoneUrl: null, urls: [] }

  const app = new Hono()
  app.use('*', securityHeaders)
  app.use('*', refuseBadUrlText)
  // The device protocol and /embed/* answer other origins: the embeddable client (client/embed).
  openToOtherOrigins(app)
  app.onError(onError(log))
  app.notFound((c) =>
    c.json(
      { error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  )
  // 503 while a write is failing: the coordinator answers but cannot commit (see README).
  app.get('/healthz', (c) => {
    const report = health.report()
    return c.json(report, report.status === 'ok' ? 200 : 503)
  })
  app.get('/metrics', async (c) =>
    c.text(await metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4' }),
  )
  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument()))
  app.route(
    '/api/v1',
    deviceRoutes({
      scheduler,
      store,
      blobs,
      clock,
      events,
      metrics,
      adminToken,
      shed,
      uploads,
      datasets,
      bodyTimeouts: { ...DEFAULT_BODY_TIMEOUTS, ...options.bodyTimeouts },
      bodies: bodyPool(),
    }),
  )
  const admin = new Hono()
  admin.use('*', requireAdmin(adminToken))
  admin.route(
    '/',
    adminRoutes({
      scheduler,
      datasets,
      models,
      events,
      ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    }),
  )
  const heldOutLimits = { ...DEFAULT_HELD_OUT_LIMITS, ...options.heldOutLimits }
  admin.route('/', datasetRoutes({ datasets, scheduler, store, clock, events, heldOutLimits }))
  admin.get('/join', (c) => c.json(join))
  app.route('/api/v1', admin)
  app.route(
    '/',
    staticRoutes({
      ...(options.clientDir ? { clientDir: options.clientDir } : {}),
      ...(options.publicDir ? { publicDir: options.publicDir } : {}),
    }),
  )

  return {
    app,
    scheduler,
    datasets,
    events,
    metrics,
    health,
    /** Records the URLs the server answers on; the first LAN one is the phones'. */
    announce(info: JoinInfo): void {
      join = info
    },
    /** Stops timers and waits for pending writes; closing the store is the caller's. */
    close: async () => {
      shed.stop()
      datasets.stop()
      await scheduler.stop()
      await models.close()
    },
  }
}

/** GET /api/v1/join: the URL phones on the network should open, and every URL served. */
export interface JoinInfo {
  phoneUrl: string | null
  urls: string[]
}

export type Coordinator = Awaited<ReturnType<typeof createCoordinator>>

/** The declared datasets, with the built-in mnist declared (and its held-out set) if absent. */
async function startDatasets(
  options: DatasetsOptions,
  heldOut: ReadonlyMap<string, Examples> | undefined,
) {
  const datasets = createDatasets(options)
  for (const name of heldOut?.keys() ?? [])
    if (name !== MNIST_DATASET.name)
      throw new Error(`heldOut: only the built-in mnist's is given at start; upload ${name}'s`)
  const mnist = heldOut?.get(MNIST_DATASET.name)
  await datasets.start([{ spec: MNIST_DATASET, ...(mnist ? { heldOut: mnist } : {}) }])
  return datasets
}
