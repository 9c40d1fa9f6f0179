import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type pg from 'pg'
import { expect } from 'vitest'
import {
  type Assignment,
  type CheckinRequest,
  plannedSteps,
  type TaskSpecInput,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import {
  type Codec,
  decodeContainer,
  encodeContainer,
  type NamedTensor,
} from '../../shared/tensors/index.ts'
import { useBackend } from '../../shared/tf/index.ts'
import { fileBlobStore } from '../blobs/index.ts'
import { systemClock } from '../clock/index.ts'
import { createEventBus } from '../events/index.ts'
import { createMetrics } from '../metrics/index.ts'
import { createModelRegistry, type ModelRegistry } from '../models/index.ts'
import type { DeviceRecord, Store } from '../store/index.ts'
import { postgresStore } from '../store/postgres.ts'
import { freshDatabase, type FreshDatabase, testPool } from '../store/testing-pg.ts'
import { createLedger } from './ledger.ts'
import { createClusterScheduler, type ClusterScheduler } from './scheduler.ts'

// Replicas in one process, each with its own pool, store, ledger, event bus and cache, on one
// fresh PostgreSQL database: what separate processes share is the database (and a blob
// directory here). Ownership is handed over explicitly (acquire/lose), as Ownership would.

export const request: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm', examplesPerSecond: 100 },
  datasets: [{ name: 'mnist', examples: 40, labels: [40] }],
}

export const spec = (extra: Partial<TaskSpecInput> = {}) =>
  TaskSpecSchema.parse({
    name: 'replicas',
    purpose: 'Train a digit reader on replicas; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
    train: { batchSize: 8, localEpochs: 1 },
    rounds: { total: 3, clientsPerRound: 4, minReports: 2, overSelect: 1, deadlineSeconds: 60 },
    aggregation: { normBound: 'off', weightBound: 'off' },
    ...extra,
  })

export interface Replica {
  id: string
  pool: pg.Pool
  store: Store
  scheduler: ClusterScheduler
  dead: boolean
}

let db: FreshDatabase
let blobDir: string
export let models: ModelRegistry
export const replicas: Replica[] = []
export const dead = new Set<string>()
/** What the replicas logged, each line after its replica's id. */
export const logs: string[] = []

export async function replica(id: string, pollMs = 50): Promise<Replica> {
  const pool = testPool(db.url, 4)
  const store = await postgresStore(pool)
  const scheduler = createClusterScheduler({
    store,
    models,
    evaluator: { evaluate: () => Promise.resolve(null) },
    clock: systemClock,
    events: createEventBus(),
    metrics: createMetrics(),
    ledger: createLedger(pool),
    replicaId: id,
    alive: (other) => Promise.resolve(!dead.has(other)),
    log: (m) => logs.push(`${id}: ${m}`),
    pollMs,
    partialWaitMs: 3000,
  })
  await scheduler.start()
  const r = { id, pool, store, scheduler, dead: false }
  replicas.push(r)
  return r
}

/** The task's ownership moved to `to`, with the epoch bumped as Ownership does. */
export async function own(to: Replica, taskId: string, from?: Replica) {
  from?.scheduler.lose(taskId)
  const { rows } = await to.pool.query<{ owner_epoch: string }>(
    'update tasks set owner_epoch = owner_epoch + 1 where id = $1 returning owner_epoch',
    [taskId],
  )
  await to.scheduler.acquire(taskId, Number(rows[0]!.owner_epoch))
}

export async function enrol(store: Store, ids: string[]): Promise<DeviceRecord[]> {
  return Promise.all(
    ids.map(async (id) => {
      const device: DeviceRecord = {
        ...{ id, tokenHash: `hash-${id}`, label: null, capabilities: null, datasets: [] },
        ...{ enrolledAt: 0, lastSeenAt: 0 },
      }
      await store.insertDevice(device)
      return device
    }),
  )
}

/** A random delta the size of the model's update, with honest metadata for `a`'s plan. */
export function update(a: Assignment, seed: number, codec: Codec = 'float32') {
  const steps = plannedSteps(a.plan, 40)
  const examples = Math.min(40, steps * a.plan.batchSize) - (seed % 5)
  const delta: NamedTensor[] = models.info(a.model.spec).updateSpec.map(({ name, shape }) => {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1))
    for (let k = 0; k < data.length; k++) data[k] = Math.sin(seed * 7.1 + k) * 0.01
    return { name, shape, dtype: 'float32' as const, data }
  })
  const metadata = { examples, steps, baseModel: a.model.hash, loss: 1 + (seed % 3) }
  const bytes = encodeContainer({ tensors: delta, metadata, codec })
  // A compressed update counts as what it decodes to.
  return { bytes, delta: codec === 'float32' ? delta : decodeContainer(bytes).tensors, examples }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000) {
  const until = Date.now() + ms
  for (;;) {
    const got = await probe()
    if (got !== undefined) return got
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const roundsOf = (store: Store, taskId: string) => store.listRounds(taskId)

/** w + Σ nᵢΔᵢ / Σ nᵢ: what FedAvg at lr 1 makes of the accepted updates. */
export function fedAvg(
  base: NamedTensor[],
  accepted: { delta: NamedTensor[]; examples: number }[],
) {
  const total = accepted.reduce((n, u) => n + u.examples, 0)
  return base.map((w) => {
    const out = Float64Array.from(w.data)
    for (const u of accepted) {
      const d = u.delta.find((t) => t.name === w.name)!
      for (let k = 0; k < out.length; k++) out[k]! += (u.examples / total) * d.data[k]!
    }
    return out
  })
}

export type Accepted = { delta: NamedTensor[]; examples: number }

/** `device` checks in on `via` and uploads an update for the assignment on `upTo`. */
export async function report(
  taskId: string,
  device: DeviceRecord,
  via: Replica,
  upTo: Replica,
  seed: number,
) {
  const answer = (await via.scheduler.checkin(device, request)) as Assignment
  expect(answer.type).toBe('assignment')
  const u = update(answer, seed)
  const result = await upTo.scheduler.upload({
    device,
    taskId,
    round: answer.round,
    readBody: () => Promise.resolve(u.bytes),
  })
  expect(result.answer.type).toBe('accepted')
  return u
}

/** The round once it closed (the database's record). */
export const closedRound = (store: Store, taskId: string, n: number) =>
  waitFor(`round ${n} closed`, async () =>
    (await store.listRounds(taskId)).find((r) => r.round === n && r.status !== 'open'),
  )

/** The committed model is FedAvg of `accepted` on `baseModel` (sampled entries). */
export async function expectFedAvg(baseModel: string, model: string, accepted: Accepted[]) {
  const expected = fedAvg(await models.weights(baseModel), accepted)
  const got = await models.weights(model)
  got.forEach((w, i) => {
    const want = expected[i]!
    for (let k = 0; k < w.data.length; k += 997) expect(w.data[k]).toBeCloseTo(want[k]!, 5)
  })
}

/** Waits until every replica in `rs` sees the task's round `n`. */
export const seen = (rs: Replica[], taskId: string, n: number) =>
  waitFor(`the replicas to see round ${n}`, () =>
    Promise.resolve(
      rs.every((r) => r.scheduler.listTasks().find((t) => t.id === taskId)?.round === n) ||
        undefined,
    ),
  )

/** The database, blob folder and model registry the replicas share (beforeAll). */
export async function setUp() {
  await useBackend('wasm')
  db = await freshDatabase('cluster_sched')
  blobDir = await mkdtemp(join(tmpdir(), 'pollen-cluster-'))
  models = createModelRegistry({ blobs: fileBlobStore(blobDir) })
}

/** Every replica stopped, the database dropped (afterAll). */
export async function tearDown() {
  for (const r of replicas) {
    await r.scheduler.stop()
    await r.pool.end()
  }
  await models.close()
  await db.drop()
  await rm(blobDir, { recursive: true, force: true })
}
