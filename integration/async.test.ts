import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, getWeights } from '../shared/models/index.ts'
import {
  type Assignment,
  type CheckinAnswer,
  PROTOCOL_VERSION,
  type UploadAnswer,
} from '../shared/protocol/index.ts'
import { encodeContainer, type NamedTensor } from '../shared/tensors/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

/** A device speaking the protocol over HTTP, as the phone app's runtime does. */
async function device(url: string) {
  const enrolled = await fetch(`${url}/api/v1/devices`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
  })
  const { token } = (await enrolled.json()) as { token: string }
  const auth = { Authorization: `Bearer ${token}` }
  return {
    async checkin(): Promise<CheckinAnswer> {
      const response = await fetch(`${url}/api/v1/devices/checkin`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          protocolVersion: PROTOCOL_VERSION,
          capabilities: { backend: 'wasm' },
          datasets: [{ name: 'mnist', examples: 50, labels: [50] }],
        }),
      })
      return (await response.json()) as CheckinAnswer
    },
    async upload(a: Assignment, delta: NamedTensor[]) {
      const response = await fetch(`${url}${a.uploadUrl}`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/octet-stream' },
        body: encodeContainer({
          tensors: delta,
          metadata: { examples: 50, steps: 2, baseModel: a.model.hash },
        }) as Uint8Array<ArrayBuffer>,
      })
      return { status: response.status, answer: (await response.json()) as UploadAnswer }
    },
  }
}

describe('an async (FedBuff) task over HTTP', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it('commits a version every bufferSize uploads and answers an over-stale one 410 stale', async () => {
    const task = await running.admin.createTask({
      name: 'fedbuff over http',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      mode: 'async',
      async: { bufferSize: 2, maxStaleness: 0, concurrency: 3 },
      rounds: { total: 10, deadlineSeconds: 600 },
    })
    // A small delta of the model's shape: its value does not matter here.
    const delta = getWeights(buildModel({ preset: 'mnist-2nn' })).map((t) => ({
      ...t,
      data: new Float32Array(t.data.length).fill(0.001),
    }))
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => device(running.url)))
    const given = (await Promise.all([a!, b!, c!].map((d) => d.checkin()))) as Assignment[]
    expect(given.map((g) => [g.type, g.round])).toEqual([
      ['assignment', 1],
      ['assignment', 1],
      ['assignment', 1],
    ])
    expect((await a!.upload(given[0]!, delta)).answer).toEqual({
      type: 'accepted',
      round: 1,
      reported: 1,
    })
    expect((await b!.upload(given[1]!, delta)).answer).toMatchObject({ reported: 2 })
    // The second update filled the buffer: version 1 is committed, round 2 open.
    const rounds = await waitFor(async () => {
      const r = await running.admin.rounds(task.id)
      return r.length === 2 && r[0]!.status === 'committed' ? r : undefined
    })
    expect(rounds[1]).toMatchObject({ round: 2, status: 'open', baseModel: rounds[0]!.model })
    // c trained on version 0, now one behind with maxStaleness 0.
    expect(await c!.upload(given[2]!, delta)).toEqual({
      status: 410,
      answer: {
        type: 'stale',
        round: 1,
        staleness: 1,
        maxStaleness: 0,
        message:
          "round 1 is 1 round behind round 2, more than this task's maxStaleness 0; the update was not aggregated",
      },
    })
    // A and b get version 1 to work on.
    expect(await a!.checkin()).toMatchObject({ type: 'assignment', round: 2 })
  })
})
