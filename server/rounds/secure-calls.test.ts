import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Assignment,
  type CheckinRequest,
  type RoundView,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import {
  createSecAggClient,
  encodeMaskedUpdate,
  type SecAggClient,
  type SecAggView,
} from '../../shared/secagg/index.ts'
import { createEventBus } from '../events/index.ts'
import { PollenError } from '../errors.ts'
import type { DeviceRecord } from '../store/index.ts'
import { withStatus } from '../api/upload-status.ts'
import { testScheduler } from './testing.ts'

const request: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 8, labels: [8] }],
}

/** A secure round's stages on virtual time: each window closes its stage for the slow. */
describe('a secure round in the scheduler', () => {
  const events = createEventBus()
  let t: Awaited<ReturnType<typeof testScheduler>>
  beforeAll(async () => {
    t = await testScheduler({ events })
  })
  afterAll(() => t.close())

  /** A secure task of one round: three reports close it, ⌈3 × overSelect⌉ devices selected. */
  const secureTask = (name: string, overSelect = 1) =>
    t.scheduler.createTask(
      TaskSpecSchema.parse({
        name,
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        secureAggregation: true,
        rounds: { total: 1, clientsPerRound: 3, minReports: 3, overSelect, deadlineSeconds: 100 },
      }),
    )

  it('closes advertise and share at their windows, and unmasks the sum of those that kept up', async () => {
    // Five selected at most, three reports close the round; a 100 s deadline.
    const task = await secureTask('secure windows', 1.67)
    const closed = new Promise<RoundView>((resolve) => {
      const stop = events.subscribe(({ event }) => {
        if (event.type === 'round.closed' && event.taskId === task.id) {
          stop()
          resolve(event.round)
        }
      })
    })
    const devices = await t.enrol('s0', 's1', 's2', 's3')
    const clients: SecAggClient[] = []
    const given: Assignment[] = []
    for (const device of devices) {
      const a = (await t.scheduler.checkin(device, request)) as Assignment
      expect(a.secureAggregation?.url).toBe(`/api/v1/tasks/${task.id}/rounds/1/secagg`)
      given.push(a)
      const client = await createSecAggClient(device.id)
      clients.push(client)
      t.scheduler.secureKeys(device, task.id, 1, client.keys())
    }
    const view = (d: DeviceRecord): SecAggView => t.scheduler.secureView(d, task.id, 1)
    // A device that advertised and checks in again (a reload lost its keys) is not given the
    // round again; one never selected cannot follow it.
    expect((await t.scheduler.checkin(devices[0]!, request)).type).toBe('retry')
    const [stranger] = await t.enrol('stranger')
    expect(() => view(stranger!)).toThrow(/not part of round 1/)
    // Four of five advertised: selection waits for the fifth until 15% of the deadline.
    expect(view(devices[0]!)).toMatchObject({ stage: 'advertise', waiting: true })
    t.clock.advance(15_000)
    const shareView = view(devices[0]!)
    expect(shareView).toMatchObject({ stage: 'share', config: { participants: 4 } })
    // No device is selected once the participants are fixed.
    const [late] = await t.enrol('late')
    expect((await t.scheduler.checkin(late!, request)).type).toBe('retry')

    // Three share; the fourth is too slow, and the share window leaves it out.
    for (const i of [0, 1, 2]) {
      const v = view(devices[i]!)
      if (v.stage !== 'share' || v.waiting) throw new Error(`not sharing: ${JSON.stringify(v)}`)
      t.scheduler.secureShares(devices[i]!, task.id, 1, await clients[i]!.share(v))
    }
    expect(view(devices[0]!)).toMatchObject({ stage: 'share', waiting: true })
    t.clock.advance(15_000)
    expect(() => view(devices[3]!)).toThrow(PollenError)

    // The three upload masked updates of 0.01, 0.02, 0.03 everywhere.
    const length = t.models.info({ preset: 'mnist-2nn' }).parameters
    for (const i of [0, 1, 2]) {
      const v = view(devices[i]!)
      if (v.stage !== 'collect' || v.waiting)
        throw new Error(`not collecting: ${JSON.stringify(v)}`)
      const masked = await clients[i]!.mask(v, new Float32Array(length).fill(0.01 * (i + 1)))
      const body = encodeMaskedUpdate({
        metadata: { examples: 8, steps: 1, baseModel: given[i]!.model.hash },
        masked,
      })
      const answer = await t.scheduler.upload({
        device: devices[i]!,
        taskId: task.id,
        round: 1,
        readBody: () => Promise.resolve(body),
      })
      expect(answer.answer).toMatchObject({ type: 'accepted', reported: i + 1 })
    }
    // The round closed on its target and waits for the survivors' reveals.
    for (const i of [0, 1, 2]) {
      const v = view(devices[i]!)
      if (v.stage !== 'unmask' || v.waiting) throw new Error(`not unmasking: ${JSON.stringify(v)}`)
      t.scheduler.secureReveal(devices[i]!, task.id, 1, clients[i]!.reveal(v))
    }
    const round = await closed
    expect(round).toMatchObject({ status: 'committed', reported: 3 })
    // Fewer than three devices a round could reveal a pair's updates to each other: refused.
    await expect(
      t.scheduler.patchTask(task.id, {
        rounds: { clientsPerRound: 2, minReports: 2, overSelect: 1 },
      }),
    ).rejects.toMatchObject({ status: 400, field: 'rounds.clientsPerRound' })
    expect(view(devices[0]!)).toMatchObject({ stage: 'done' })
    const before = (await t.models.weights(round.baseModel)).flatMap((w) => [...w.data.slice(0, 5)])
    const after = (await t.models.weights(round.model!)).flatMap((w) => [...w.data.slice(0, 5)])
    for (const [k, v] of after.entries()) expect(v - before[k]!).toBeCloseTo(0.02, 5)
  })

  it('abandons the secure round with the sync round when too few report, and says so', async () => {
    const task = await secureTask('secure, nobody uploads')
    const devices = await t.enrol('n0', 'n1', 'n2')
    for (const device of devices) {
      await t.scheduler.checkin(device, request)
      t.scheduler.secureKeys(device, task.id, 1, (await createSecAggClient(device.id)).keys())
    }
    expect(t.scheduler.secureView(devices[0]!, task.id, 1).stage).toBe('share')
    t.clock.advance(100_000)
    await t.scheduler.settled()
    expect(t.scheduler.secureView(devices[0]!, task.id, 1)).toMatchObject({ stage: 'abandoned' })
    expect((await t.scheduler.listRounds(task.id))[0]).toMatchObject({
      status: 'abandoned',
      abandonedReason: 'fewer reports than the 3 it needs',
      // A private task's updates are bounded by its own clipping, not these.
      updateBounds: null,
    })
    await t.scheduler.deleteTask(task.id)
  })

  it('bounds what a masked upload claims as it bounds a plain one', async () => {
    const task = await secureTask('secure, inflated claims')
    const devices = await t.enrol('c0', 'c1', 'c2')
    const given: Assignment[] = []
    for (const device of devices)
      given.push((await t.scheduler.checkin(device, request)) as Assignment)
    const masked = new Uint32Array(t.models.info({ preset: 'mnist-2nn' }).parameters)
    // Declared 8 examples; the plan is one step of 32.
    const claims = [
      [{ examples: 9, steps: 1 }, 'metadata.examples'],
      [{ examples: 8, steps: 2 }, 'metadata.steps'],
    ] as const
    for (const [i, [claim, field]] of claims.entries()) {
      const metadata = { ...claim, baseModel: given[i]!.model.hash }
      const { status, answer } = withStatus(
        await t.scheduler.upload({
          device: devices[i]!,
          taskId: task.id,
          round: 1,
          readBody: () => Promise.resolve(encodeMaskedUpdate({ metadata, masked })),
        }),
      )
      expect({ status, answer }).toMatchObject({ status: 422, answer: { type: 'rejected', field } })
    }
    const [round] = await t.scheduler.listRounds(task.id)
    expect(round).toMatchObject({ status: 'open', reported: 0, rejected: 2 })
    await t.scheduler.deleteTask(task.id)
  })

  it('rejects a masked upload that is not a whole frame of the model, naming the part', async () => {
    const task = await secureTask('secure, bad frames')
    const devices = await t.enrol('b0', 'b1', 'b2')
    const clients: SecAggClient[] = []
    const given: Assignment[] = []
    for (const device of devices) {
      given.push((await t.scheduler.checkin(device, request)) as Assignment)
      const client = await createSecAggClient(device.id)
      clients.push(client)
      t.scheduler.secureKeys(device, task.id, 1, client.keys())
    }
    for (const [i, device] of devices.entries()) {
      const v = t.scheduler.secureView(device, task.id, 1)
      if (v.stage !== 'share' || v.waiting) throw new Error(`not sharing: ${JSON.stringify(v)}`)
      t.scheduler.secureShares(device, task.id, 1, await clients[i]!.share(v))
    }
    const metadata = { examples: 8, steps: 1, baseModel: given[0]!.model.hash }
    const bodies = [
      // A plain update container where a masked frame belongs.
      t.zeroUpdate(metadata),
      // A frame of the wrong length.
      encodeMaskedUpdate({ metadata, masked: new Uint32Array(10) }),
      // A frame cut short.
      encodeMaskedUpdate({
        metadata,
        masked: new Uint32Array(t.models.info({ preset: 'mnist-2nn' }).parameters),
      }).subarray(0, 1000),
    ]
    const fields = []
    for (const [i, body] of bodies.entries()) {
      const { status, answer } = withStatus(
        await t.scheduler.upload({
          device: devices[i]!,
          taskId: task.id,
          round: 1,
          readBody: () => Promise.resolve(body),
        }),
      )
      expect(status).toBe(422)
      fields.push(answer.type === 'rejected' ? answer.field : answer.type)
    }
    expect(fields).toEqual(['magic', 'length', 'masked'])
    const [round] = await t.scheduler.listRounds(task.id)
    expect(round).toMatchObject({ status: 'open', reported: 0, rejected: 3 })
    await t.scheduler.deleteTask(task.id)
  })
})
