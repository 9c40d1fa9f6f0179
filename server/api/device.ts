import { randomBytes, randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import {
  CheckinRequestSchema,
  EnrolRequestSchema,
  PROTOCOL_VERSION,
  type CurrentModelAnswer,
  type EnrolAnswer,
  type ModelSpecWire,
} from '../../shared/protocol/index.ts'
import {
  KeysMessageSchema,
  RevealMessageSchema,
  SharesMessageSchema,
} from '../../shared/secagg/index.ts'
import type { Clock } from '../clock/index.ts'
import { checkDeclaredHistograms, type Datasets } from '../datasets/index.ts'
import { SEEN_WRITE_INTERVAL_MS } from '../devices/index.ts'
import { PollenError } from '../errors.ts'
import type { EventBus } from '../events/index.ts'
import type { Metrics } from '../metrics/index.ts'
import type { Scheduler } from '../rounds/index.ts'
import type { BlobStore } from '../blobs/index.ts'
import type { DeviceRecord, Store } from '../store/index.ts'
import { hashToken, isAdmin, requireDevice, type DeviceEnv } from './auth.ts'
import { modelDownloads } from './model-downloads.ts'
import { limitBody, nodeRequest, readUpdateBody, type BodyTimeouts } from './body.ts'
import type { BodyPool } from './body-pool.ts'
import { parseJson } from './errors.ts'
import { roundParam } from './params.ts'
import type { LoadShedder } from './shed.ts'
import { uploadStatus } from './upload-status.ts'
import type { UploadGate } from './uploads.ts'

const JSON_LIMIT = 64 * 1024
const SECURE_LIMIT = 256 * 1024

export interface DeviceDeps {
  scheduler: Scheduler
  store: Store
  blobs: BlobStore
  clock: Clock
  events: EventBus
  metrics: Metrics
  adminToken: string
  /** Load shedding past a bound of device requests in flight (shed.ts). */
  shed: LoadShedder
  /** Bounds on uploads read at once (uploads.ts). */
  uploads: UploadGate
  /** The declared datasets: a task's spec for the phone, the classes a check-in may count. */
  datasets: Pick<Datasets, 'spec' | 'lookup'>
  /** How long an upload's body may take to arrive (body.ts). */
  bodyTimeouts?: BodyTimeouts
  /** Buffers for upload bodies, used again once the aggregation is done with one (body-pool.ts). */
  bodies?: BodyPool
}

function checkVersion(version: number) {
  if (version !== PROTOCOL_VERSION)
    throw new PollenError(
      'protocol_version',
      `this coordinator speaks protocol ${PROTOCOL_VERSION}, the device ${version}: update the app`,
      'protocolVersion',
    )
}

/** The round number in a path: a canonical positive integer. */

/** The device protocol: enrol, check in, download models, upload updates (docs/PROTOCOL.md). */
export function deviceRoutes(deps: DeviceDeps) {
  const { scheduler, store, blobs, clock, events, metrics, shed, uploads, datasets, bodies } = deps
  // Every device route passes one of these first, before its token is looked up or its body read.
  const load = shed.guard()
  const checkinLoad = shed.guard({ checkin: true })
  const app = new Hono<DeviceEnv>()
  // Any request a device authenticates counts as seeing it (what "active" counts).
  app.use('*', async (c, next) => {
    await next()
    const device = c.get('device') as DeviceRecord | undefined
    const now = clock.now()
    if (device && now - device.lastSeenAt >= SEEN_WRITE_INTERVAL_MS) {
      device.lastSeenAt = now
      await store.updateDevice(device.id, { lastSeenAt: now })
    }
  })
  const jsonLimit = limitBody(JSON_LIMIT, 'bodies here')
  // A round's shares: one sealed bundle per neighbour, up to 255 of them.
  const secureLimit = limitBody(SECURE_LIMIT, 'secure aggregation messages')

  app.post('/devices', load, jsonLimit, async (c) => {
    const request = await parseJson(c, EnrolRequestSchema)
    checkVersion(request.protocolVersion)
    const token = randomBytes(32).toString('base64url')
    const now = clock.now()
    const id = randomUUID()
    await store.insertDevice({
      id,
      tokenHash: hashToken(token),
      label: request.label ?? null,
      capabilities: null,
      datasets: [],
      enrolledAt: now,
      lastSeenAt: now,
    })
    metrics.inc('pollen_devices_enrolled_total')
    return c.json({ type: 'enrolled', deviceId: id, token } satisfies EnrolAnswer, 201)
  })

  app.post('/devices/checkin', checkinLoad, jsonLimit, requireDevice(store), async (c) => {
    const parsed = await parseJson(c, CheckinRequestSchema)
    checkVersion(parsed.protocolVersion)
    const request = {
      ...parsed,
      datasets: checkDeclaredHistograms(parsed.datasets, (name) => datasets.spec(name)),
    }
    const device = c.get('device')
    events.publish({ type: 'device.state', deviceId: device.id, state: 'checked-in' })
    return c.json(await scheduler.checkin(device, request))
  })

  // What a phone shows its owner before they agree to a task, and how the tasks that ended did.
  app.get('/devices/tasks', load, requireDevice(store), async (c) => {
    c.header('Cache-Control', 'no-store')
    return c.json({ tasks: await scheduler.deviceTasks() })
  })

  // A declared dataset's spec (a phone that holds examples of a task it no longer lists).
  app.get('/devices/datasets/:name', load, requireDevice(store), async (c) => {
    const name = c.req.param('name')
    const spec = (await datasets.lookup(name))?.spec
    if (!spec)
      throw new PollenError('not_found', `no dataset ${name.slice(0, 100)} is declared`, 'name')
    c.header('Cache-Control', 'no-store')
    return c.json(spec)
  })

  // The model a task listed to phones has now, for "try the model": a pointer to the immutable
  // blob (a phone that holds the hash already downloads nothing more). Changes every round; an
  // ended task's is its final model.
  app.get('/devices/tasks/:id/model', load, requireDevice(store), async (c) => {
    const id = c.req.param('id')
    const offered = (await scheduler.deviceTasks()).find((t) => t.id === id)
    if (!offered) throw new PollenError('not_found', `no task ${id} is offered to devices`, 'id')
    const { spec, hash } = scheduler.currentModel(id)
    c.header('Cache-Control', 'no-store')
    return c.json({
      type: 'model',
      taskId: id,
      committedRounds: offered.rounds.committed,
      // The task's validated spec, as assignments carry it (ModelSpec only widens the topology).
      model: { spec: spec as ModelSpecWire, hash, url: `/api/v1/models/${hash}` },
    } satisfies CurrentModelAnswer)
  })

  // Models are immutable blobs named by their hash: cache them forever.
  app.get('/models/:hash', load, async (c, next) => {
    if (isAdmin(c, deps.adminToken)) return next()
    return requireDevice(store)(c, next)
  })
  app.get('/models/:hash', modelDownloads({ scheduler, blobs }))

  // Secure aggregation (SecAgg+): the stages of a round, each device's part (docs/PROTOCOL.md).
  const secagg = '/tasks/:id/rounds/:round/secagg'
  app.get(secagg, load, requireDevice(store), async (c) => {
    c.header('Cache-Control', 'no-store')
    return c.json(await scheduler.secureView(c.get('device'), c.req.param('id'), roundParam(c)))
  })
  app.post(`${secagg}/keys`, secureLimit, requireDevice(store), async (c) => {
    const keys = await parseJson(c, KeysMessageSchema)
    await scheduler.secureKeys(c.get('device'), c.req.param('id'), roundParam(c), keys)
    return c.json({ type: 'accepted' })
  })
  app.post(`${secagg}/shares`, secureLimit, requireDevice(store), async (c) => {
    const shares = await parseJson(c, SharesMessageSchema)
    await scheduler.secureShares(c.get('device'), c.req.param('id'), roundParam(c), shares)
    return c.json({ type: 'accepted' })
  })
  app.post(`${secagg}/reveal`, secureLimit, requireDevice(store), async (c) => {
    const reveal = await parseJson(c, RevealMessageSchema)
    await scheduler.secureReveal(c.get('device'), c.req.param('id'), roundParam(c), reveal)
    return c.json({ type: 'accepted' })
  })

  // An upload carries a phone's finished training, and a secure stage's message its part of a
  // round that closes without it: neither is shed (uploads have bounds of their own, uploads.ts).
  app.post('/tasks/:id/rounds/:round/updates', requireDevice(store), uploads.gate, async (c) => {
    const round = roundParam(c)
    const result = await scheduler.upload({
      device: c.get('device'),
      taskId: c.req.param('id'),
      round,
      readBody: (limit) =>
        readUpdateBody(c.req.raw, limit, deps.bodyTimeouts, nodeRequest(c.env), bodies),
      ...(bodies && { recycleBody: (bytes: Uint8Array) => bodies.give(bytes) }),
    })
    return c.json(result.answer, uploadStatus(result))
  })

  return app
}
