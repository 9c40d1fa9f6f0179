// The phone's contribute loop and outbox against a real coordinator (real HTTP, PGlite, held-out
// evaluation), training for real with the training core on wasm. IndexedDB is fake-indexeddb:
// Node has none; the e2e tests run the same code on Chromium's.
import 'fake-indexeddb/auto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { uploadKey } from '../client/app/contribute/checkpoints.ts'
import {
  type ContributionState,
  type Contributor,
  loadContributor,
  loadEnrolment,
} from '../client/app/contribute/index.ts'
import { listHistory } from '../client/app/history/index.ts'
import { deliverPending, pendingUploads } from '../client/app/outbox/index.ts'
import {
  openPollenDB,
  type PendingUpload,
  type PollenDatabase,
  replaceExamples,
  STORES,
} from '../client/app/storage/index.ts'
import {
  type ConditionSource,
  createConsentStore,
  NO_CONDITIONS,
} from '../client/app/tasks/index.ts'
import { localTrainer, type TrainJob } from '../client/device/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { type Digits, subset } from '../shared/data/index.ts'
import {
  MNIST_DATASET,
  type Assignment,
  type CheckinRequest,
  type DeviceTaskView,
  type TaskView,
} from '../shared/protocol/index.ts'
import { type Running, startCoordinator, waitFor } from './harness.ts'

let running: Running
let digits: Digits
beforeAll(async () => {
  running = await startCoordinator()
  digits = subset((await loadMnist()).train, range(200))
})
afterAll(() => running.close())

const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const conditions: ConditionSource = {
  read: () => ({ charging: null, unmetered: null, visible: true }),
  subscribe: () => () => {},
}

let opened: PollenDatabase[] = []
let contributors: Contributor[] = []
let n = 0
afterEach(async () => {
  await Promise.all(contributors.map((c) => c.stop()))
  for (const db of opened) db.close()
  contributors = []
  opened = []
})

/** A phone: its database with 200 real digits, and the network as `network` says. */
async function phone(network: { up: boolean } = { up: true }) {
  const db = await openPollenDB({ name: `pollen-phone-loop-${n++}` })
  opened.push(db)
  await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: digits })
  const checkins: CheckinRequest[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    // The radio is off: what the browser's fetch does offline.
    if (!network.up) throw new TypeError('Failed to fetch')
    const target = input instanceof Request ? input.url : input.toString()
    if (target.endsWith('/api/v1/devices/checkin') && typeof init?.body === 'string')
      checkins.push(JSON.parse(init.body) as CheckinRequest)
    return globalThis.fetch(input, init)
  }
  const online = new EventTarget()
  const consents = createConsentStore({ db })
  const states: ContributionState[] = []
  const jobs: TrainJob[] = []
  const trainer = localTrainer()
  const contributor = await loadContributor({
    db,
    server: running.url,
    fetch,
    consents,
    conditions,
    idleSeconds: 0.2,
    onOnline: (listener) => {
      online.addEventListener('online', listener)
      return () => online.removeEventListener('online', listener)
    },
    onState: (s) => states.push(s),
    trainer: () =>
      Promise.resolve({
        init: () => Promise.resolve({ backend: 'wasm' as const }),
        train: (job: TrainJob) => {
          jobs.push(job)
          return trainer.train(job)
        },
      }),
  })
  contributors.push(contributor)
  return { db, consents, contributor, states, jobs, checkins, network, online }
}

async function task(train: object, rounds: object = {}): Promise<TaskView> {
  return running.admin.createTask({
    name: `phone loop ${n}`,
    purpose: 'Train a digit reader; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
    train: { learningRate: 0.05, batchSize: 10, ...train },
    rounds: { total: 1, clientsPerRound: 1, minReports: 1, deadlineSeconds: 60, ...rounds },
  })
}

const view = (t: TaskView): DeviceTaskView => ({
  id: t.id,
  name: t.name,
  purpose: t.purpose,
  datasetSpec: null,
  status: 'running',
  endedAt: null,
  mode: 'sync',
  async: null,
  accuracy: null,
  dataset: t.dataset,
  model: { preset: t.model.preset, parameters: t.model.parameters },
  updateBytes: 0,
  rounds: { total: t.rounds.total, committed: 0, deadlineSeconds: t.rounds.deadlineSeconds },
  privacy: { differentialPrivacy: null, secureAggregation: false },
})

describe('the contribute loop, against a real coordinator', () => {
  it('enrols once, checks in only once the owner agreed, trains, and is accepted', async () => {
    const t = await task({})
    const p = await phone()
    expect((await p.contributor.tasks()).map((x) => x.id)).toContain(t.id)
    const enrolment = await loadEnrolment(p.db)
    expect(enrolment?.token).toBeTruthy()

    p.contributor.start()
    await waitFor(() => (p.states.some((s) => s.type === 'idle') ? true : undefined))
    expect(p.checkins).toHaveLength(0) // nothing agreed: no check-in at all

    await p.consents.join(view(t), NO_CONDITIONS)
    const [record] = await waitFor(async () => {
      const history = await listHistory(p.db)
      return history.length > 0 ? history : undefined
    })
    expect(record).toMatchObject({ taskId: t.id, round: 1, outcome: 'accepted', examples: 200 })
    expect(record!.bytesSent).toBeGreaterThan(796_000)
    expect(p.checkins[0]?.consents).toEqual([t.id])
    // What the browser says of the phone goes with it, for the tasks' eligibility rules.
    expect(p.checkins[0]?.capabilities).toMatchObject({ backend: 'wasm', network: 'unknown' })
    expect(await loadEnrolment(p.db)).toEqual(enrolment)
    const [round] = await running.admin.rounds(t.id)
    expect(round).toMatchObject({ reported: 1, examples: 200 })
    // The round's work left nothing behind: no checkpoint, nothing waiting.
    expect(await p.db.count(STORES.checkpoints)).toBe(0)
    expect(await p.db.count(STORES.uploads)).toBe(0)
    expect(await p.db.count(STORES.models)).toBe(1)
  })

  it('a task joined that ended does not keep the phone from one that runs on another dataset', async () => {
    const spec = (name: string, dataset: string) => ({
      name,
      purpose: 'Read handwritten digits.',
      dataset,
      model: { preset: 'mnist-2nn' as const },
      train: { learningRate: 0.05, batchSize: 10 },
      rounds: { total: 1, clientsPerRound: 1, minReports: 1, deadlineSeconds: 60 },
    })
    // A task trains only on a declared dataset: 'other' holds digits too.
    const other = await running.admin.call('/api/v1/datasets', {
      method: 'POST',
      body: JSON.stringify({ ...MNIST_DATASET, name: 'other' }),
    })
    expect([201, 409]).toContain(other.status)
    const live = await running.admin.createTask(spec(`still running ${n}`, 'mnist'))
    // The ended task sorts before the live one in the consent store (by id), so its dataset is
    // the one the loop looks at first.
    let ended = await running.admin.createTask(spec(`ends first ${n}`, 'other'))
    while (ended.id > live.id) {
      await running.admin.call(`/api/v1/tasks/${ended.id}`, { method: 'DELETE' })
      ended = await running.admin.createTask(spec(`ends first ${n}`, 'other'))
    }
    const p = await phone()
    await replaceExamples(p.db, { dataset: 'other', source: 'demo', examples: digits })
    p.contributor.start()
    await p.consents.join(view(ended), NO_CONDITIONS)
    await waitFor(async () =>
      (await running.admin.task(ended.id)).status === 'completed' ? true : undefined,
    )
    // The phone learns it ended, and says so.
    await waitFor(
      () =>
        p.states.at(-1)?.type === 'idle' &&
        (p.states.at(-1) as { reason: string }).reason.startsWith(
          'Nothing to train: no task you joined is running',
        )
          ? true
          : undefined,
      30_000,
      'the phone saying no task it joined is running',
    )
    await p.consents.join(view(live), NO_CONDITIONS)
    const record = await waitFor(
      async () => (await listHistory(p.db)).find((r) => r.taskId === live.id),
      30_000,
      'a round of the live task',
    )
    expect(record).toMatchObject({ outcome: 'accepted', round: 1 })
  })

  it('withdrawing stops training at once, drops its checkpoint, and no check-in names the task', async () => {
    // 50 epochs of 20 batches: long enough to withdraw in the middle, checkpoints every 100 steps.
    const t = await task({ localEpochs: 50 }, { total: 5 })
    const p = await phone()
    p.contributor.start()
    await p.consents.join(view(t), NO_CONDITIONS)
    await waitFor(
      () =>
        p.states.some((s) => s.type === 'training' && (s.progress?.step ?? 0) > 150)
          ? true
          : undefined,
      120_000,
      'training past the first checkpoint',
    )
    expect(await p.db.count(STORES.checkpoints)).toBe(1)
    const withdrawnAt = p.checkins.length
    await p.consents.withdraw(t.id)
    await waitFor(() => (p.jobs.at(-1)?.signal?.aborted ? true : undefined))
    const history = await waitFor(async () => {
      const h = await listHistory(p.db)
      return h.some((r) => r.outcome === 'stopped') ? h : undefined
    })
    expect(history[0]).toMatchObject({ taskId: t.id, outcome: 'stopped', backend: 'wasm' })
    expect(await p.db.count(STORES.checkpoints)).toBe(0)
    for (const c of p.checkins.slice(withdrawnAt)) expect(c.consents).not.toContain(t.id)
  })

  it('drops a checkpoint that cannot be resumed, and trains the round from its start', async () => {
    const t = await task({})
    const p = await phone()
    await p.contributor.tasks() // enrols
    await p.consents.join(view(t), NO_CONDITIONS)
    const device = await loadEnrolment(p.db)
    const answer = (await (
      await fetch(`${running.url}/api/v1/devices/checkin`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${device!.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          protocolVersion: 1,
          capabilities: { backend: 'wasm' },
          datasets: [{ name: 'mnist', examples: 200, labels: [] }],
          consents: [t.id],
        }),
      })
    ).json()) as Assignment
    // Damaged: its step count belongs to no plan on these examples.
    await p.db.put(STORES.checkpoints, {
      taskId: t.id,
      taskName: t.name,
      assignment: answer,
      exampleCount: 200,
      checkpoint: {
        step: 3,
        totalSteps: 9999,
        seed: 1,
        weights: [],
        optimizer: [],
        examples: 30,
        lossSum: 1,
        lossCount: 30,
      },
      backend: 'wasm',
      startedAt: Date.now(),
      savedAt: Date.now(),
    })
    p.contributor.start()
    const [record] = await waitFor(async () => {
      const h = (await listHistory(p.db)).filter((r) => r.outcome === 'accepted')
      return h.length > 0 ? h : undefined
    }, 60_000)
    expect(record).toMatchObject({ taskId: t.id, round: 1, examples: 200 })
    expect(p.states.some((s) => s.type === 'error' && /totalSteps is 9999/.test(s.message))).toBe(
      true,
    )
    expect(await p.db.count(STORES.checkpoints)).toBe(0)
  })

  it('offline, the trained update waits in the outbox; back online, it is delivered', async () => {
    const t = await task({})
    const network = { up: true }
    const p = await phone(network)
    p.contributor.start()
    await p.consents.join(view(t), NO_CONDITIONS)
    // The network drops once the round's model is in hand.
    await waitFor(() => (p.states.some((s) => s.type === 'training') ? true : undefined))
    network.up = false
    const queued = await waitFor(() => p.states.find((s) => s.type === 'queued'))
    expect(queued).toEqual({ type: 'queued', count: 1 })
    const [waiting] = await pendingUploads(p.db)
    expect(waiting).toMatchObject({ taskId: t.id, round: 1, attempts: 1, claimedUntil: 0 })
    expect(waiting!.lastError).toMatch(/Failed to fetch/)
    expect((await running.admin.rounds(t.id))[0]).toMatchObject({ reported: 0 })

    network.up = true
    p.online.dispatchEvent(new Event('online'))
    const [record] = await waitFor(async () => {
      const h = await listHistory(p.db)
      return h.length > 0 ? h : undefined
    })
    expect(record).toMatchObject({ taskId: t.id, outcome: 'accepted' })
    expect((await running.admin.rounds(t.id))[0]).toMatchObject({ reported: 1 })
    expect(await pendingUploads(p.db)).toEqual([])
  })
})

describe('the outbox', () => {
  const pending = (over: Partial<PendingUpload>): PendingUpload => ({
    key: uploadKey('t', 1),
    taskId: 't',
    taskName: 'digits',
    round: 1,
    uploadUrl: '/api/v1/tasks/t/rounds/1/updates',
    deadlineAt: Date.now() + 60_000,
    body: new ArrayBuffer(16),
    examples: 10,
    steps: 1,
    backend: 'wasm',
    startedAt: 1,
    queuedAt: 2,
    attempts: 0,
    claimedUntil: 0,
    ...over,
  })

  it('drops an update past its deadline as expired, sending nothing', async () => {
    const p = await phone()
    let sent = 0
    await p.db.put(STORES.uploads, pending({ deadlineAt: Date.now() - 1 }))
    const report = await deliverPending(p.db, {
      server: running.url,
      fetch: (input, init) => {
        sent++
        return globalThis.fetch(input, init)
      },
    })
    expect(report).toEqual({ answered: 0, expired: 1, waiting: 0 })
    expect(sent).toBe(0)
    expect(await listHistory(p.db)).toMatchObject([{ outcome: 'expired', bytesSent: 0 }])
    expect(await pendingUploads(p.db)).toEqual([])
  })

  it('leaves one another sender holds, keeps one the coordinator failed, ends on any answer', async () => {
    const p = await phone()
    await p.db.put(STORES.uploads, pending({ claimedUntil: Date.now() + 30_000 }))
    expect(await deliverPending(p.db, { server: running.url })).toEqual({
      answered: 0,
      expired: 0,
      waiting: 0,
    })
    expect(await pendingUploads(p.db)).toHaveLength(1)

    await p.db.put(STORES.uploads, pending({}))
    const failing = () => Promise.resolve(new Response('overloaded', { status: 503 }))
    expect(await deliverPending(p.db, { server: running.url, fetch: failing })).toMatchObject({
      waiting: 1,
    })
    expect((await pendingUploads(p.db))[0]).toMatchObject({ attempts: 1, claimedUntil: 0 })

    // Not enrolled: refused (401), and sending again would not help, so it ends here.
    expect(await deliverPending(p.db, { server: running.url })).toMatchObject({ answered: 1 })
    const [refused] = await listHistory(p.db)
    expect(refused?.outcome).toBe('failed')
    expect(refused?.detail).toMatch(/refused the update \(401/)

    // Enrolled, for a round the coordinator does not know: its answer ends it too.
    await p.contributor.tasks()
    await p.db.put(STORES.uploads, pending({}))
    expect(await deliverPending(p.db, { server: running.url })).toMatchObject({ answered: 1 })
    const [last] = await listHistory(p.db)
    expect(last?.outcome).toMatch(/unknown-round|failed/)
    expect(await pendingUploads(p.db)).toEqual([])
  })
})
