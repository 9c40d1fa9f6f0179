import { describe, expect, it } from 'vitest'
import type { Assignment, TrainPlanWire } from '../../shared/protocol/index.ts'
import { decodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import {
  type Delivery,
  deliverUpdate,
  fetchModel,
  type PlainUpdate,
  planRound,
  privatizeUpdate,
  ROUND_STAGES,
  type RoundEvent,
  type RoundParts,
  type RoundState,
  runRound,
  trainRound,
} from './pipeline.ts'
import { memoryResiduals } from './residuals.ts'
import type { SecureOutcome, SecureSession } from './secure.ts'
import type { TrainJob, TrainOutcome } from './trainer.ts'

const DEADLINE = '2030-01-01T00:00:00.000Z'
const tensor = (value: number, n = 4): NamedTensor => ({
  name: 'w',
  shape: [n],
  dtype: 'float32',
  data: new Float32Array(n).fill(value),
})

const assignment = (over: Partial<Assignment> = {}, plan: Partial<TrainPlanWire> = {}) =>
  ({
    type: 'assignment',
    taskId: 't1',
    round: 2,
    dataset: 'mnist',
    model: { spec: { preset: 'mnist-2nn' }, hash: 'ab'.repeat(32), url: '/m' },
    plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1, ...plan },
    deadline: DEADLINE,
    uploadUrl: '/u',
    ...over,
  }) as Assignment

const trained: TrainOutcome = { delta: [tensor(3)], examples: 20, steps: 2, loss: 0.5 }

/** A secure session that records what it was given and ends as told. */
function fakeSession(ended: SecureOutcome = { answer: null, outcome: 'done', bytes: 9 }) {
  const aborter = new AbortController()
  const submitted: NamedTensor[][] = []
  let stopped = false
  const session: SecureSession = {
    signal: aborter.signal,
    submit(delta) {
      submitted.push(delta)
      return Promise.resolve(ended)
    },
    stop() {
      stopped = true
    },
  }
  return { session, aborter, submitted, stopped: () => stopped }
}

/** Parts that record what the round did with them. */
function parts(over: Partial<RoundParts> = {}) {
  const events: RoundEvent[] = []
  const jobs: TrainJob[] = []
  const delivered: PlainUpdate[] = []
  const delivery: Delivery = {
    deliver(update) {
      delivered.push(update)
      return Promise.resolve({
        type: 'sent',
        answer: { type: 'accepted', round: 2, reported: 1 },
        bytes: update.body.length,
      })
    },
  }
  const made: RoundParts = {
    trainer: {
      train(job) {
        jobs.push(job)
        return Promise.resolve({ ...trained, trainingMs: 42 })
      },
    },
    examples: { count: 20, shape: [1], features: new Uint8Array(20), labels: new Uint8Array(20) },
    model: () => Promise.resolve([tensor(1)]),
    delivery,
    onEvent: (e) => events.push(e),
    ...over,
  }
  return { parts: made, events, jobs, delivered }
}

describe('the plan stage', () => {
  it('says the round is assigned, and sets the stop time of partial work', async () => {
    const p = parts()
    const state = await planRound(
      { assignment: assignment({}, { partialAtSecondsLeft: 10 }) },
      p.parts,
    )
    expect(state.stopAt).toBe(Date.parse(DEADLINE) - 10_000)
    expect(state.secure).toBeUndefined()
    expect(p.events).toEqual([{ type: 'assigned', taskId: 't1', round: 2 }])
  })

  it('opens the secure session of a round that asks for one, and follows its signal', async () => {
    const fake = fakeSession()
    const p = parts({ secure: () => fake.session })
    const plain = await planRound({ assignment: assignment() }, p.parts)
    expect(plain.secure).toBeUndefined()
    const secure = await planRound(
      { assignment: assignment({ secureAggregation: { url: '/s' } }) },
      p.parts,
    )
    expect(secure.secure).toBe(fake.session)
    fake.aborter.abort(new Error('left behind'))
    expect(secure.signal?.aborted).toBe(true)
  })
})

describe('the model stage', () => {
  it('puts the assignment’s model in the state', async () => {
    const asked: Assignment[] = []
    const p = parts({
      model: (a) => {
        asked.push(a)
        return Promise.resolve([tensor(7)])
      },
    })
    const state = await fetchModel({ assignment: assignment() }, p.parts)
    expect(asked).toHaveLength(1)
    expect(state.weights?.[0]?.data[0]).toBe(7)
  })
})

describe('the train stage', () => {
  it('trains the model with the plan, stop time and checkpoints, and says what it did', async () => {
    const saved: unknown[] = []
    const resumeFrom = { step: 1 } as never
    const p = parts({
      checkpoints: { resumeFrom, every: 5, save: (c) => Promise.resolve(void saved.push(c)) },
    })
    const state = await trainRound(
      { assignment: assignment(), weights: [tensor(1)], stopAt: 123 },
      p.parts,
    )
    expect(state.trained).toMatchObject({ examples: 20, steps: 2 })
    expect(state.trainedMs).toBe(42)
    const job = p.jobs[0]!
    expect(job).toMatchObject({ stopAt: 123, checkpointEvery: 5, resumeFrom })
    expect(job.weights[0]?.data[0]).toBe(1)
    await job.onCheckpoint?.({ step: 5 } as never)
    expect(saved).toEqual([{ step: 5 }])
    expect(p.events).toEqual([
      {
        type: 'trained',
        taskId: 't1',
        round: 2,
        examples: 20,
        steps: 2,
        loss: 0.5,
        ms: 42,
        partial: false,
      },
    ])
  })

  it('refuses to train without a model', async () => {
    await expect(trainRound({ assignment: assignment() }, parts().parts)).rejects.toThrow(/model/)
  })
})

describe('the privatize stage', () => {
  it('clips a private task’s delta to its norm, and says what the update weighs', async () => {
    const private_ = assignment({ privacy: { clipNorm: 1, noiseStd: 0 } })
    const state = await privatizeUpdate({ assignment: private_, trained }, parts().parts)
    const data = state.update!.tensors[0]!.data
    expect(Math.hypot(...data)).toBeCloseTo(1, 5)
    expect(state.update!.metadata).toEqual({
      examples: 20,
      steps: 2,
      loss: 0.5,
      baseModel: 'ab'.repeat(32),
    })
  })

  it('leaves a task without privacy its delta', async () => {
    const state = await privatizeUpdate({ assignment: assignment(), trained }, parts().parts)
    expect(state.update!.tensors).toBe(trained.delta)
  })
})

describe('the deliver stage', () => {
  const ready = (over: Partial<RoundState> = {}): RoundState => ({
    assignment: assignment(),
    trained,
    trainedMs: 10,
    update: { tensors: [tensor(2)], metadata: { examples: 20, steps: 2, baseModel: 'h' } },
    ...over,
  })

  it('hands the encoded update to the delivery, and says it was uploaded', async () => {
    const p = parts()
    const state = await deliverUpdate(ready(), p.parts)
    const sent = decodeContainer(p.delivered[0]!.body)
    expect(sent.metadata).toEqual({ examples: 20, steps: 2, baseModel: 'h' })
    expect(Array.from(sent.tensors[0]!.data)).toEqual([2, 2, 2, 2])
    expect(state.result).toMatchObject({ type: 'delivered', delivered: { type: 'sent' } })
    expect(p.events).toEqual([
      expect.objectContaining({
        type: 'uploaded',
        answer: { type: 'accepted', round: 2, reported: 1 },
      }),
    ])
  })

  it('encodes in the codec picked, when the assignment accepts it', async () => {
    const p = parts({ codec: () => 'int8' })
    const accepting = assignment({ compression: { uploads: ['float32', 'int8'] } })
    await deliverUpdate(ready({ assignment: accepting }), p.parts)
    expect(decodeContainer(p.delivered[0]!.body).codec).toBe('int8')
    await deliverUpdate(ready(), p.parts)
    expect(decodeContainer(p.delivered[1]!.body).codec).toBe('float32')
  })

  it('keeps what a top-k upload held back and adds it to the next round’s update', async () => {
    const residuals = memoryResiduals()
    const p = parts({ codec: () => 'topk', residuals })
    const topk = (round: number) =>
      assignment({ round, compression: { uploads: ['float32', 'topk'] } })
    const update = (data: number[]) => ({
      tensors: [
        {
          name: 'w',
          shape: [data.length],
          dtype: 'float32' as const,
          data: Float32Array.from(data),
        },
      ],
      metadata: { examples: 20, steps: 2, baseModel: 'h' },
    })
    // 200 entries: top-k keeps 1% of them, 2.
    const first = Array.from({ length: 200 }, (_, i) => (i < 3 ? 10 - i : 0.01))
    await deliverUpdate(ready({ assignment: topk(2), update: update(first) }), p.parts)
    const sent = decodeContainer(p.delivered[0]!.body)
    expect(sent.codec).toBe('topk')
    expect(p.delivered[0]!.codec).toBe('topk')
    expect(Array.from(sent.tensors[0]!.data.subarray(0, 3))).toEqual([10, 9, 0])
    const kept = await residuals.get('t1')
    expect(kept?.round).toBe(2)
    expect(kept?.tensors[0]!.data[2]).toBe(8)
    // The next round's delta is small everywhere: what was held back (8 at entry 2) goes now.
    await deliverUpdate(
      ready({ assignment: topk(3), update: update(new Array<number>(200).fill(0.01)) }),
      p.parts,
    )
    const next = decodeContainer(p.delivered[1]!.body).tensors[0]!.data
    expect(next[2]).toBeCloseTo(8.01, 5)
    expect((await residuals.get('t1'))?.round).toBe(3)
    // Eleven rounds on, the residual is dropped: only the new delta is sent.
    await deliverUpdate(
      ready({ assignment: topk(14), update: update(new Array<number>(200).fill(0)) }),
      p.parts,
    )
    expect(
      Array.from(decodeContainer(p.delivered[2]!.body).tensors[0]!.data).every((v) => v === 0),
    ).toBe(true)
  })

  it('keeps no residual for a codec other than top-k', async () => {
    const residuals = memoryResiduals()
    const p = parts({ codec: () => 'int8', residuals })
    const accepting = assignment({ compression: { uploads: ['int8'] } })
    await deliverUpdate(ready({ assignment: accepting }), p.parts)
    expect(await residuals.get('t1')).toBeUndefined()
  })

  it('says nothing was uploaded when the delivery queued it', async () => {
    const p = parts({
      delivery: { deliver: (u) => Promise.resolve({ type: 'queued', bytes: u.body.length }) },
    })
    const state = await deliverUpdate(ready(), p.parts)
    expect(state.result).toMatchObject({ type: 'delivered', delivered: { type: 'queued' } })
    expect(p.events).toEqual([])
  })

  it('masks through the secure session instead, and says how the secure round ended', async () => {
    const fake = fakeSession({
      answer: { type: 'accepted', round: 2, reported: 1 },
      outcome: 'done',
      bytes: 99,
    })
    const p = parts()
    const state = await deliverUpdate(ready({ secure: fake.session }), p.parts)
    expect(fake.submitted[0]?.[0]?.data[0]).toBe(2)
    expect(p.delivered).toEqual([])
    expect(state.result).toMatchObject({ type: 'secure', ended: { outcome: 'done' } })
    expect(p.events.map((e) => e.type)).toEqual(['secure', 'uploaded'])
  })

  it('drops the update when told to, delivering nothing', async () => {
    const p = parts({ beforeDeliver: () => Promise.resolve('drop') })
    const state = await deliverUpdate(ready(), p.parts)
    expect(state.result?.type).toBe('dropped')
    expect(p.delivered).toEqual([])
    expect(p.events).toEqual([{ type: 'dropped', taskId: 't1', round: 2 }])
  })
})

describe('a round', () => {
  it('goes through the stages in order', async () => {
    expect(ROUND_STAGES.map(([name]) => name)).toEqual([
      'plan',
      'model',
      'train',
      'privatize',
      'deliver',
    ])
    const p = parts()
    const result = await runRound(assignment(), p.parts)
    expect(result).toMatchObject({ type: 'delivered', trained: { steps: 2 } })
    expect(p.events.map((e) => e.type)).toEqual(['assigned', 'trained', 'uploaded'])
  })

  it('ends left behind when the secure round goes on without it, and leaves the session', async () => {
    const fake = fakeSession()
    const p = parts({
      secure: () => fake.session,
      trainer: {
        train(job) {
          fake.aborter.abort(new Error('too slow'))
          job.signal?.throwIfAborted()
          return Promise.resolve(trained)
        },
      },
    })
    const secure = assignment({ secureAggregation: { url: '/s' } })
    expect(await runRound(secure, p.parts)).toEqual({ type: 'left-behind', reason: 'too slow' })
    expect(p.events.at(-1)).toMatchObject({
      type: 'secure',
      outcome: 'dropped',
      reason: 'too slow',
    })
    expect(fake.stopped()).toBe(true)
  })

  it('throws what failed when the device stops it', async () => {
    const stop = new AbortController()
    const p = parts({
      signal: stop.signal,
      model: () => {
        stop.abort(new Error('withdrawn'))
        return Promise.reject(new Error('withdrawn'))
      },
    })
    await expect(runRound(assignment(), p.parts)).rejects.toThrow('withdrawn')
  })
})
