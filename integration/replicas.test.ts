import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Assignment,
  type CheckinAnswer,
  plannedSteps,
  PROTOCOL_VERSION,
  type RoundView,
  type TaskSpecInput,
  type UploadAnswer,
} from '../shared/protocol/index.ts'
import { encodeIdx } from '../shared/data/formats/index.ts'
import { decodeContainer, encodeContainer, sha256Hex } from '../shared/tensors/index.ts'
import { freshDatabase, type FreshDatabase } from '../server/store/testing-pg.ts'
import { ADMIN_TOKEN, adminClient, waitFor } from './harness.ts'
import { type Replica, replicaSet } from './replica-set.ts'

// Replicas as real processes of `npm start`'s entry point on one fresh PostgreSQL database, each
// with its own data dir and port and the same admin token; protocol-only devices (right-shaped
// random deltas, no training) whose requests rotate over the replicas.

let db: FreshDatabase
const { startAll, alive: live, owner, kill9 } = replicaSet()

/** A protocol-only device: enrolled once, then any replica takes its requests. */
async function device(url: string) {
  const response = await fetch(`${url}/api/v1/devices`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
  })
  const { token } = (await response.json()) as { token: string }
  return { Authorization: `Bearer ${token}` }
}
type Device = Awaited<ReturnType<typeof device>>

const EXAMPLES = 40

async function checkin(at: Replica, auth: Device, dataset = 'mnist'): Promise<CheckinAnswer> {
  const response = await fetch(`${at.url}/api/v1/devices/checkin`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { backend: 'wasm' },
      datasets: [{ name: dataset, examples: EXAMPLES, labels: [EXAMPLES] }],
    }),
  })
  return (await response.json()) as CheckinAnswer
}

/** A right-shaped random delta (the weights of the round's model, scaled down). */
async function upload(at: Replica, auth: Device, a: Assignment, seed: number) {
  const model = await fetch(`${at.url}${a.model.url}`, { headers: auth })
  const weights = decodeContainer(new Uint8Array(await model.arrayBuffer())).tensors
  const tensors = weights.map((w) => ({
    ...w,
    data: w.data.map((_, k) => Math.sin(seed + k) * 0.001),
  }))
  const steps = plannedSteps(a.plan, EXAMPLES)
  const examples = Math.min(EXAMPLES, steps * a.plan.batchSize) - (seed % 7)
  const response = await fetch(`${at.url}${a.uploadUrl}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/octet-stream' },
    body: encodeContainer({
      tensors,
      metadata: { baseModel: a.model.hash, examples, steps },
    }) as Uint8Array<ArrayBuffer>,
  })
  return { answer: (await response.json()) as UploadAnswer, examples }
}

const spec = (total: number, clientsPerRound: number): TaskSpecInput => ({
  name: 'replicas',
  purpose: 'Train a digit reader on three replicas; only weight updates leave the phone.',
  model: { preset: 'mnist-2nn' },
  train: { batchSize: 8, localEpochs: 1 },
  rounds: { total, clientsPerRound, minReports: 2, overSelect: 1, deadlineSeconds: 120 },
  aggregation: { normBound: 'off', weightBound: 'off' },
})

const admin = () => adminClient(live()[0]!.url, ADMIN_TOKEN)

async function committed(taskId: string, n: number): Promise<RoundView> {
  return waitFor(
    async () => (await admin().rounds(taskId)).find((r) => r.round === n && r.status !== 'open'),
    60_000,
    `round ${n} of ${taskId} to close`,
  )
}

/** Devices report in the task's round `n`, each request on the next replica in turn. */
async function play(taskId: string, n: number, devices: Device[], start = 0, dataset = 'mnist') {
  let examples = 0
  let turn = start
  const next = () => live()[turn++ % live().length]!
  for (const [i, auth] of devices.entries()) {
    const a = await waitFor(
      async () => {
        const answer = await checkin(next(), auth, dataset)
        return answer.type === 'assignment' && answer.taskId === taskId ? answer : undefined
      },
      30_000,
      `device ${i} selected in round ${n}`,
    )
    expect(a.round).toBe(n)
    const { answer, examples: e } = await upload(next(), auth, a, n * 100 + i)
    expect(answer.type).toBe('accepted')
    examples += e
  }
  return examples
}

beforeAll(async () => {
  db = await freshDatabase('replicas')
  // Started together on an empty database: one set of migrations between them.
  await startAll(db.url, 3)
}, 180_000)

afterAll(async () => {
  for (const r of live()) await kill9(r)
  await db.drop()
})

describe('three coordinator replicas on one PostgreSQL database', () => {
  it('see a dataset declared on one at once on the others: a task on it, its held-out set evaluated by the owner; deleted, refused', async () => {
    const [r0, r1, r2] = live().map((r) => adminClient(r.url, ADMIN_TOKEN)) as [
      ReturnType<typeof admin>,
      ReturnType<typeof admin>,
      ReturnType<typeof admin>,
    ]
    const features = { kind: 'image', height: 28, width: 28, channels: 1 }
    const digits = { name: 'digits-b', features, classes: [...'0123456789'] }
    const post = (body: object) => ({ method: 'POST', body: JSON.stringify(body) })
    expect((await r0.call('/api/v1/datasets', post(digits))).status).toBe(201)
    expect((await r1.call('/api/v1/datasets/digits-b')).status).toBe(200)
    // Its held-out set, uploaded through the third: what the task's owner evaluates with.
    const labels = Array.from({ length: 20 }, (_, i) => i % 10)
    const form = new FormData()
    for (const [file, bytes] of [
      ['images', encodeIdx(new Uint8Array(20 * 784).fill(128), [20, 28, 28])],
      ['labels', encodeIdx(Uint8Array.from(labels), [20])],
    ] as const)
      form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), file)
    const put = await r2.call('/api/v1/datasets/digits-b/held-out', { method: 'PUT', body: form })
    expect(put.status).toBe(200)
    const task = await r1.createTask({ ...spec(1, 2), dataset: 'digits-b' })
    const devices = await Promise.all(Array.from({ length: 2 }, () => device(live()[0]!.url)))
    await play(task.id, 1, devices, 0, 'digits-b')
    const round = await committed(task.id, 1)
    expect(round.status).toBe('committed')
    expect(round.accuracy).toBeTypeOf('number')
    expect((await r2.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await r2.call('/api/v1/datasets/digits-b', { method: 'DELETE' })).status).toBe(204)
    // Deleted on one: refused at once by the others.
    const refused = await r0.call('/api/v1/tasks', post({ ...spec(1, 2), dataset: 'digits-b' }))
    expect(refused.status).toBe(400)
    expect(await refused.text()).toMatch(/dataset digits-b is not declared/)
    expect((await r1.call('/api/v1/datasets/digits-b')).status).toBe(404)
  }, 180_000)

  it('run a 5-round task with 30 devices spread over them: each round counts exactly what was accepted', async () => {
    const devices = await Promise.all(Array.from({ length: 30 }, () => device(live()[0]!.url)))
    const task = await admin().createTask(spec(5, 6))
    for (let n = 1; n <= 5; n++) {
      const examples = await play(task.id, n, devices.slice((n - 1) * 6, n * 6), n)
      const round = await committed(task.id, n)
      expect(round).toMatchObject({ status: 'committed', reported: 6, selected: 6 })
      expect(round.examples).toBe(examples)
    }
    await waitFor(
      async () => ((await admin().task(task.id)).status === 'completed' ? true : undefined),
      30_000,
      'the task to complete',
    )
    // /metrics on every replica: its own tasks owned, and the cluster's replicas.
    const texts = await Promise.all(
      live().map(async (r) => (await fetch(`${r.url}/metrics`)).text()),
    )
    for (const text of texts) {
      expect(text).toContain('pollen_cluster_replicas{state="alive"} 3')
      expect(text).toContain('pollen_cluster_replicas{state="registered"} 3')
    }
    const owned = texts.map((t) => Number(/pollen_replica_tasks_owned\{[^}]*\} (\d+)/.exec(t)?.[1]))
    // The task completed: nobody owns it now, or its owner still does; never two.
    expect(owned.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1)
  }, 300_000)

  it('count the updates a replica accepted before it was killed (kill -9, not the owner)', async () => {
    const devices = await Promise.all(Array.from({ length: 4 }, () => device(live()[0]!.url)))
    const task = await admin().createTask(spec(1, 4))
    const owning = await waitFor(() => owner(task.id), 30_000, 'an owner')
    const victim = live().find((r) => r !== owning)!
    let examples = 0
    // Two devices check in and upload on the victim, which answers accepted; then it dies.
    for (const [i, auth] of devices.slice(0, 2).entries()) {
      const a = await waitFor(
        async () => {
          const answer = await checkin(victim, auth)
          return answer.type === 'assignment' && answer.taskId === task.id ? answer : undefined
        },
        30_000,
        'a selection',
      )
      const { answer, examples: e } = await upload(victim, auth, a, 500 + i)
      expect(answer.type).toBe('accepted')
      examples += e
    }
    await kill9(victim)
    examples += await play(task.id, 1, devices.slice(2))
    const round = await committed(task.id, 1)
    expect(round).toMatchObject({ status: 'committed', reported: 4 })
    expect(round.examples).toBe(examples)
  }, 180_000)

  it('carry the open round on when the owner is killed (kill -9): contiguous rounds, an unbroken model chain', async () => {
    const devices = await Promise.all(Array.from({ length: 6 }, () => device(live()[0]!.url)))
    const task = await admin().createTask(spec(2, 3))
    const first = await waitFor(() => owner(task.id), 30_000, 'an owner')
    // One report in, then the owner dies mid-round.
    let examples = await play(task.id, 1, devices.slice(0, 1))
    await kill9(first)
    const second = await waitFor(() => owner(task.id), 30_000, 'a new owner')
    expect(second).not.toBe(first)
    examples += await play(task.id, 1, devices.slice(1, 3))
    const one = await committed(task.id, 1)
    expect(one).toMatchObject({ status: 'committed', reported: 3, examples })
    await play(task.id, 2, devices.slice(3, 6))
    const two = await committed(task.id, 2)
    const rounds = await admin().rounds(task.id)
    expect(rounds.map((r) => r.round)).toEqual([1, 2])
    expect(two.baseModel).toBe(one.model)
    // Every model's bytes hash to its name.
    for (const hash of [one.baseModel, one.model!, two.model!]) {
      const bytes = new Uint8Array(
        await (await admin().call(`/api/v1/models/${hash}`)).arrayBuffer(),
      )
      expect(await sha256Hex(bytes)).toBe(hash)
    }
  }, 180_000)
})
