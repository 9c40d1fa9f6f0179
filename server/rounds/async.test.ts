import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Assignment,
  type CheckinRequest,
  TaskSpecSchema,
  type TaskView,
} from '../../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../../shared/tensors/index.ts'
import type { DeviceRecord } from '../store/index.ts'
import { withStatus } from '../api/upload-status.ts'
import { testScheduler } from './testing.ts'

const request: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm', examplesPerSecond: 100 },
  datasets: [{ name: 'mnist', examples: 100, labels: [100] }],
}

describe('an async (FedBuff) task', () => {
  let t: Awaited<ReturnType<typeof testScheduler>>
  let task: TaskView
  let devices: Record<string, DeviceRecord>

  beforeAll(async () => {
    t = await testScheduler()
    task = await t.scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'fedbuff',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        mode: 'async',
        async: { bufferSize: 2, maxStaleness: 1, stalenessExponent: 0.5, concurrency: 4 },
        // The staleness weights alone: a norm bound would clip c's update to e's zero norm.
        aggregation: { normBound: 'off' },
        rounds: { total: 5, deadlineSeconds: 600 },
      }),
    )
    devices = Object.fromEntries(
      (await t.enrol('a', 'b', 'c', 'd', 'e')).map((d) => [d.id, d] as const),
    )
  })
  afterAll(() => t.close())

  /** An update whose every value is `value`, computed on `base`. */
  function update(base: string, value: number) {
    const spec = t.models.info({ preset: 'mnist-2nn' }).weightSpec
    return encodeContainer({
      tensors: spec.map(({ name, shape }) => ({
        name,
        shape,
        dtype: 'float32',
        data: new Float32Array(tensorSize(shape)).fill(value),
      })),
      metadata: { examples: 10, steps: 1, baseModel: base },
    })
  }
  /** The upload's outcome, with the status the device API answers it with. */
  const send = async (id: string, a: Assignment, value: number) =>
    withStatus(
      await t.scheduler.upload({
        device: devices[id]!,
        taskId: task.id,
        round: a.round,
        readBody: () => Promise.resolve(update(a.model.hash, value)),
      }),
    )
  const checkin = async (id: string) => t.scheduler.checkin(devices[id]!, request)
  const rounds = () => t.scheduler.listRounds(task.id)

  it('hands out work up to its concurrency, commits every bufferSize updates, weighs stale ones down, and refuses the too stale', async () => {
    const given: Record<string, Assignment> = {}
    for (const id of ['a', 'b', 'c', 'd']) {
      const answer = await checkin(id)
      expect(answer).toMatchObject({ type: 'assignment', round: 1 })
      given[id] = answer as Assignment
    }
    // Four devices at work: the fifth waits.
    expect(await checkin('e')).toMatchObject({ type: 'retry' })
    // A device at work asking again gets the same work.
    expect(await checkin('a')).toEqual(given.a)

    expect(await send('a', given.a!, 1)).toMatchObject({ status: 200, answer: { reported: 1 } })
    expect(await send('b', given.b!, 1)).toMatchObject({ status: 200, answer: { reported: 2 } })
    // The buffer was full: round 1 committed, round 2 open on the new model.
    const [first, second] = await waitForRounds(2)
    expect(first).toMatchObject({ status: 'committed', reported: 2 })
    expect(second).toMatchObject({ status: 'open', baseModel: first!.model })
    const model1 = await t.models.weights(first!.model!)

    const e = (await checkin('e')) as Assignment
    expect(e).toMatchObject({ type: 'assignment', round: 2, model: { hash: first!.model } })
    // c trained on round 1's model: one round stale, weight 1/√2; e's update is all zeros.
    expect(await send('c', given.c!, 1)).toMatchObject({ status: 200, answer: { round: 1 } })
    expect(await send('e', e, 0)).toMatchObject({ status: 200, answer: { reported: 2 } })
    const [, committed] = await waitForRounds(3)
    const model2 = await t.models.weights(committed!.model!)
    // Equal examples: the mean is (1/√2 · 1 + 0) / 2.
    expect(model2[0]!.data[0]! - model1[0]!.data[0]!).toBeCloseTo(Math.SQRT1_2 / 2, 5)
    // What each version applied, by staleness: round 1 two fresh ones, round 2 one of each.
    const applied = await rounds()
    expect(applied.map((r) => r.staleness)).toEqual([[2], [1, 1], null])

    // d trained on round 1's model, now two rounds behind round 3: refused, and told why.
    const stale = await send('d', given.d!, 1)
    expect(stale).toEqual({
      status: 410,
      answer: {
        type: 'stale',
        round: 1,
        staleness: 2,
        maxStaleness: 1,
        message:
          "round 1 is 2 rounds behind round 3, more than this task's maxStaleness 1; the update was not aggregated",
      },
    })
    // Sending it again is a duplicate, not a second chance.
    expect((await send('d', given.d!, 1)).answer.type).toBe('duplicate')
  })

  /** The rounds once the commit the last upload caused is done, and round `count` is open. */
  async function waitForRounds(count: number) {
    await t.scheduler.settled()
    const listed = await rounds()
    expect(listed).toHaveLength(count)
    return listed
  }
})

describe('an async task’s updates under the default bounds', () => {
  let t: Awaited<ReturnType<typeof testScheduler>>
  beforeAll(async () => {
    t = await testScheduler()
  })
  afterAll(() => t.close())

  it('clips each update to the buffer’s lower quartile norm before its staleness weight', async () => {
    const task = await t.scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'fedbuff, bounded',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        mode: 'async',
        async: { bufferSize: 2, maxStaleness: 1, stalenessExponent: 0.5, concurrency: 4 },
        rounds: { total: 5, deadlineSeconds: 600 },
      }),
    )
    const devices = await t.enrol('a', 'b', 'c', 'e')
    const spec = t.models.info({ preset: 'mnist-2nn' }).weightSpec
    const send = (device: DeviceRecord, a: Assignment, value: number) =>
      t.scheduler.upload({
        device,
        taskId: task.id,
        round: a.round,
        readBody: () =>
          Promise.resolve(
            encodeContainer({
              tensors: spec.map(({ name, shape }) => ({
                name,
                shape,
                dtype: 'float32',
                data: new Float32Array(tensorSize(shape)).fill(value),
              })),
              metadata: { examples: 10, steps: 1, baseModel: a.model.hash },
            }),
          ),
      })
    const [a, b, c, e] = devices as [DeviceRecord, DeviceRecord, DeviceRecord, DeviceRecord]
    const given = new Map<DeviceRecord, Assignment>()
    for (const d of [a, b, c]) given.set(d, (await t.scheduler.checkin(d, request)) as Assignment)
    // Values 1 and 3 everywhere: norms N and 3N; the bound is N, so b's counts as 1.
    await send(a, given.get(a)!, 1)
    await send(b, given.get(b)!, 3)
    await t.scheduler.settled()
    const [first] = await t.scheduler.listRounds(task.id)
    const n = Math.sqrt(t.models.info({ preset: 'mnist-2nn' }).parameters)
    expect(first!.updateBounds).toMatchObject({ weight: 20, clipped: 1, capped: 0 })
    expect(first!.updateBounds!.norm).toBeCloseTo(n, 3)
    const [w0, w1] = await Promise.all([
      t.models.weights(first!.baseModel),
      t.models.weights(first!.model!),
    ])
    expect(w1[0]!.data[0]! - w0[0]!.data[0]!).toBeCloseTo(1, 4)

    // c trained on version 1 with 3s: clipped to N, then weighed 1/√2; e's fresh 1s.
    const late = (await t.scheduler.checkin(e, request)) as Assignment
    await send(c, given.get(c)!, 3)
    await send(e, late, 1)
    await t.scheduler.settled()
    const [, second] = await t.scheduler.listRounds(task.id)
    expect(second!.updateBounds).toMatchObject({ clipped: 1 })
    const w2 = await t.models.weights(second!.model!)
    expect(w2[0]!.data[0]! - w1[0]!.data[0]!).toBeCloseTo((Math.SQRT1_2 + 1) / 2, 4)
  })
})
