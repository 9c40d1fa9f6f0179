import { beforeAll, describe, expect, it } from 'vitest'
import type { CheckinAnswer } from '../../../shared/protocol/index.ts'
import { encodeContainer, sha256Hex } from '../../../shared/tensors/index.ts'
import type { Trainer } from '../../device/trainer.ts'
import { listHistory } from '../history/store.ts'
import { pendingUploads } from '../outbox/index.ts'
import { type PollenDatabase, STORES } from '../storage/index.ts'
import { NO_CONDITIONS } from '../tasks/conditions.ts'
import { createConsentStore } from '../tasks/consent.ts'
import { createLink } from './link.ts'
import { contribute, type PassContext } from './pass.ts'
import type { ContributionState } from './state.ts'
import { assignmentFor, freshDb, taskView } from './testing.ts'
import type { Work } from './work.ts'

const model = encodeContainer({
  tensors: [{ name: 'w', shape: [2], dtype: 'float32', data: new Float32Array([1, 2]) }],
})
let hash = ''
beforeAll(async () => {
  hash = await sha256Hex(model)
})

/** A coordinator that answers the check-in with `answer` and serves the model. */
function coordinator(answer: () => CheckinAnswer) {
  const fetch: typeof globalThis.fetch = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : input.toString()).pathname
    if (path === '/api/v1/devices' && init?.method === 'POST')
      return Promise.resolve(Response.json({ type: 'enrolled', deviceId: 'd', token: 't' }))
    if (path === '/api/v1/devices/checkin') return Promise.resolve(Response.json(answer()))
    if (path === `/api/v1/models/${hash}`)
      return Promise.resolve(new Response(model as Uint8Array<ArrayBuffer>))
    return Promise.resolve(new Response('no', { status: 404 }))
  }
  return fetch
}

const trainer = (fail = false): Trainer => ({
  train: (job) =>
    fail
      ? Promise.reject(new Error('the worker crashed'))
      : Promise.resolve({
          delta: job.weights.map((t) => ({ ...t, data: new Float32Array(t.data.length) })),
          examples: 20,
          steps: 2,
          loss: 0.5,
        }),
})

async function pass(answer: () => CheckinAnswer, over: Partial<PassContext> = {}) {
  const db: PollenDatabase = await freshDb()
  const consents = createConsentStore({ db })
  await consents.join(taskView('t1'), NO_CONDITIONS)
  const shown: ContributionState[] = []
  const working: string[] = []
  const link = createLink({
    db,
    server: 'http://c.test',
    fetch: coordinator(answer),
    now: Date.now,
  })
  const examples = {
    count: 20,
    shape: [28, 28, 1],
    features: new Uint8Array(784 * 20),
    labels: new Uint8Array(20),
  }
  const work: Work = {
    type: 'work',
    ready: await consents.granted(),
    dataset: 'mnist',
    examples,
  }
  const ctx: PassContext = {
    db,
    link,
    trainer: trainer(),
    backend: 'wasm',
    speed: undefined,
    conditions: {
      read: () => ({ charging: null, unmetered: null, visible: true }),
      subscribe: () => () => {},
    },
    readyTaskIds: () => Promise.resolve(['t1']),
    signal: new AbortController().signal,
    stopping: new AbortController().signal,
    working: (taskId) => working.push(taskId),
    show: (s) => shown.push(s),
    shown: () => shown.at(-1) ?? { type: 'idle', reason: '' },
    idle: (fallback) => Promise.resolve({ type: 'idle', reason: fallback }),
    flush: () => Promise.resolve(1),
    idleSeconds: 3,
    now: Date.now,
    ...over,
  }
  return { db, ctx, work, shown, working }
}

describe('a pass of the contribute loop', () => {
  it('checks in, trains through the pipeline, and leaves the update in the outbox', async () => {
    const p = await pass(() => ({
      ...assignmentFor('t1'),
      model: { spec: { preset: 'mnist-2nn' }, hash, url: `/api/v1/models/${hash}` },
    }))
    // The outbox still holds it (flush says one waits): try again when the network is back.
    expect(await contribute(p.work, p.ctx)).toBe(30_000)
    expect(p.shown.map((s) => s.type)).toEqual(['checking-in', 'training', 'uploading'])
    expect(p.working).toEqual(['t1'])
    expect(await pendingUploads(p.db)).toMatchObject([{ taskId: 't1', examples: 20, steps: 2 }])
    expect(await p.db.count(STORES.models)).toBe(1)
    expect(await listHistory(p.db)).toEqual([]) // the outbox writes it when it is answered
    p.db.close()
  })

  it('waits as long as the coordinator says when it has nothing', async () => {
    const p = await pass(() => ({ type: 'none', reason: 'no round is open' }))
    expect(await contribute(p.work, p.ctx)).toBe(3000)
    expect(p.shown.at(-1)).toEqual({
      type: 'idle',
      reason: 'Nothing to train now: the coordinator says no round is open.',
    })
    p.db.close()
  })

  it('records a round whose training failed, says so, and throws for the backoff', async () => {
    const p = await pass(
      () => ({
        ...assignmentFor('t1'),
        model: { spec: { preset: 'mnist-2nn' }, hash, url: `/api/v1/models/${hash}` },
      }),
      { trainer: trainer(true) },
    )
    await expect(contribute(p.work, p.ctx)).rejects.toThrow('the worker crashed')
    expect(p.shown.at(-1)).toEqual({ type: 'error', message: 'the worker crashed' })
    expect(await listHistory(p.db)).toMatchObject([{ taskId: 't1', outcome: 'failed' }])
    p.db.close()
  })
})
