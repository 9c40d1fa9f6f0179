import { beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../../data/mnist-file.ts'
import { type Digits, subset } from '../../shared/data/index.ts'
import { buildModel, getWeights } from '../../shared/models/index.ts'
import type { Assignment, TrainPlanWire } from '../../shared/protocol/index.ts'
import {
  decodeContainer,
  encodeContainer,
  type NamedTensor,
  sha256Hex,
} from '../../shared/tensors/index.ts'
import { useBackend } from '../../shared/tf/index.ts'
import { localTrainer } from './local-trainer.ts'
import { createDevice, type DeviceEvent } from './runtime.ts'
import type { Trainer, TrainJob, TrainOutcome } from './trainer.ts'

let digits: Digits
let model: Uint8Array
let hash: string
let weights: NamedTensor[]

beforeAll(async () => {
  await useBackend('wasm')
  digits = subset(
    (await loadMnist()).train,
    Array.from({ length: 100 }, (_, i) => i),
  )
  const built = buildModel({ preset: 'mnist-2nn' })
  weights = getWeights(built)
  built.dispose()
  model = encodeContainer({ tensors: weights })
  hash = await sha256Hex(model)
})

const DEADLINE = '2030-01-01T00:00:00.000Z'

const assignment = (plan: Partial<TrainPlanWire> = {}): Assignment => ({
  type: 'assignment',
  taskId: 't1',
  round: 3,
  dataset: 'mnist',
  model: { spec: { preset: 'mnist-2nn' }, hash, url: `/api/v1/models/${hash}` },
  plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1, ...plan },
  deadline: DEADLINE,
  uploadUrl: '/api/v1/devices/updates/t1/3',
})

/** A device against a coordinator that serves the model and accepts any upload, kept here. */
function device(trainer: Trainer) {
  const uploads: Uint8Array[] = []
  const events: DeviceEvent[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : input.toString()
    if (url.endsWith(hash)) return new Response(model as Uint8Array<ArrayBuffer>)
    uploads.push(new Uint8Array(await new Response(init?.body).arrayBuffer()))
    return Response.json({ type: 'accepted', round: 3, reported: 1 })
  }
  const d = createDevice({
    server: 'http://coordinator.test',
    trainer,
    examples: digits,
    backend: 'wasm',
    fetch,
    enrolment: { deviceId: 'd1', token: 'secret' },
    onEvent: (e) => events.push(e),
  })
  const metadata = () => uploads.map((u) => decodeContainer(u).metadata)
  return { work: d.work, events, metadata }
}

/** Answers every job as `outcome` says, keeping the jobs it was given. */
function fakeTrainer(outcome: Omit<TrainOutcome, 'delta'>) {
  const jobs: TrainJob[] = []
  const trainer: Trainer = {
    train(job) {
      jobs.push(job)
      const delta = job.weights.map((t) => ({ ...t, data: new Float32Array(t.data.length) }))
      return Promise.resolve({ delta, ...outcome })
    },
  }
  return { trainer, jobs }
}

describe('partial work in the device runtime', () => {
  it('gives the trainer the stop time and the plan as assigned, and marks a partial upload', async () => {
    const { trainer, jobs } = fakeTrainer({ examples: 40, steps: 4, loss: 1.5, partial: true })
    const d = device(trainer)
    const answer = await d.work(assignment({ partialAtSecondsLeft: 20, maxSteps: 7 }))
    expect(answer?.type).toBe('accepted')
    expect(jobs[0]!.stopAt).toBe(Date.parse(DEADLINE) - 20_000)
    expect(jobs[0]!.plan).toMatchObject({ maxSteps: 7, partialAtSecondsLeft: 20 })
    expect(d.metadata()).toEqual([
      { examples: 40, steps: 4, loss: 1.5, baseModel: hash, partial: true },
    ])
    const trained = d.events.find((e) => e.type === 'trained')
    expect(trained).toMatchObject({ steps: 4, examples: 40, partial: true })
  })

  it('asks for no stop without partialAtSecondsLeft, and says nothing of partial work', async () => {
    const { trainer, jobs } = fakeTrainer({ examples: 100, steps: 10, loss: 1.2 })
    const d = device(trainer)
    await d.work(assignment())
    expect(jobs[0]!.stopAt).toBeUndefined()
    expect(d.metadata()).toEqual([{ examples: 100, steps: 10, loss: 1.2, baseModel: hash }])
  })

  it('with the training core, a device past its stop time uploads the one step it did', async () => {
    const d = device(localTrainer())
    // The stop time passed already: a late check-in, or a slow download.
    const late = assignment({ partialAtSecondsLeft: 60 * 60 * 24 * 365 * 100 })
    await d.work(late)
    expect(d.metadata()).toEqual([
      expect.objectContaining({ examples: 10, steps: 1, partial: true }),
    ])
    // And the whole plan, capped by maxSteps, when there is time.
    await d.work(assignment({ partialAtSecondsLeft: 1, maxSteps: 3 }))
    expect(d.metadata()[1]).toEqual(expect.objectContaining({ examples: 30, steps: 3 }))
    expect(d.metadata()[1]).not.toHaveProperty('partial')
  })
})
