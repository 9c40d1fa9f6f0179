import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, weightSpec } from '../shared/models/index.ts'
import type { Assignment, RoundDeviceView, RoundView } from '../shared/protocol/index.ts'
import { decodeContainer, tensorSize, type NamedTensor } from '../shared/tensors/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'
import { rawDevice } from './raw-device.ts'

const FLOAT32_MAX = 3.4028234663852886e38
let spec: { name: string; shape: number[] }[] = []
/** A delta of the model's shape, every value from `fill`. */
const delta = (fill: (i: number) => number): NamedTensor[] =>
  spec.map(({ name, shape }) => ({
    name,
    shape,
    dtype: 'float32',
    data: Float32Array.from({ length: tensorSize(shape) }, (_, i) => fill(i)),
  }))
const small = () => delta((i) => ((i % 7) - 3) * 1e-3)
const purpose = 'Train a digit reader; only weight updates leave the phone.'

describe('what a device says about its update is bounded', () => {
  const clock = createVirtualClock(Date.now())
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator({ clock })
    spec = weightSpec(buildModel({ preset: 'mnist-2nn' }))
  })
  afterAll(() => running.close())

  const roundOf = async (taskId: string, n: number) =>
    (await running.admin.rounds(taskId)).find((r) => r.round === n)!
  const devicesOf = async (taskId: string, n: number) =>
    (
      (await (await running.admin.call(`/api/v1/tasks/${taskId}/rounds/${n}/devices`)).json()) as {
        devices: RoundDeviceView[]
      }
    ).devices
  const modelOf = async (hash: string, token: string) =>
    decodeContainer(
      new Uint8Array(
        await (
          await fetch(`${running.url}/api/v1/models/${hash}`, {
            headers: { Authorization: `Bearer ${token}` },
          })
        ).arrayBuffer(),
      ),
    ).tensors
  const committedOrAbandoned = (taskId: string, n: number) =>
    waitFor(async () => {
      const r = await roundOf(taskId, n)
      return r && r.status !== 'open' ? r : undefined
    })

  it('refuses a declared example count past 10,000,000 at check-in, naming the field, and selects nobody', async () => {
    const task = await running.admin.createTask({
      name: 'declared counts',
      purpose,
      model: { preset: 'mnist-2nn' },
      rounds: { total: 1, clientsPerRound: 2, minReports: 1, overSelect: 1 },
    })
    const device = await rawDevice(running.url)
    for (const [declared, field] of [
      [[{ name: 'mnist', examples: 2 ** 31, labels: [600] }], 'datasets.0.examples'],
      [[{ name: 'mnist', examples: 600, labels: [2 ** 53 - 1] }], 'datasets.0.labels.0'],
    ] as const) {
      const refused = await device.checkinResponse(declared)
      expect(refused.status).toBe(400)
      const { error } = refused.body as { error: { issues: { field: string }[] } }
      expect(error.issues.map((i) => i.field)).toEqual([field])
    }
    expect(await roundOf(task.id, 1)).toMatchObject({ selected: 0 })
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('refuses metadata.examples ≥ 2³¹ with 422 before anything is counted or stored', async () => {
    const task = await running.admin.createTask({
      name: 'huge examples',
      purpose,
      model: { preset: 'mnist-2nn' },
      rounds: { total: 1, clientsPerRound: 3, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    const devices = await Promise.all([0, 1, 2].map(() => rawDevice(running.url)))
    const given = (await Promise.all(devices.map((d) => d.checkin()))) as Assignment[]
    for (const [i, examples] of [2 ** 31, 2 ** 53 - 1].entries()) {
      const answer = await devices[i]!.upload(given[i]!, small(), { examples, steps: 19 })
      expect(answer).toMatchObject({
        status: 422,
        answer: { type: 'rejected', field: 'metadata.examples' },
      })
    }
    // The third is honest: 600 examples in 19 steps of 32.
    const good = await devices[2]!.upload(given[2]!, small(), { examples: 600, steps: 19 })
    expect(good).toMatchObject({ status: 200, answer: { type: 'accepted', reported: 1 } })
    clock.advance(60_000)
    const round = await committedOrAbandoned(task.id, 1)
    expect(round).toMatchObject({ status: 'committed', reported: 1, rejected: 2, examples: 600 })
    // The store agrees with the round: no device left `assigned` that the round counted.
    const states = (await devicesOf(task.id, 1)).map((d) => [d.state, d.examples])
    expect(states.sort()).toEqual([
      ['rejected', 0],
      ['rejected', 0],
      ['reported', 600],
    ])
  })

  it('bounds an update by what the device declared at the check-in that assigned it and by its plan', async () => {
    const task = await running.admin.createTask({
      name: 'claims',
      purpose,
      model: { preset: 'mnist-2nn' },
      train: { batchSize: 32, localEpochs: 1 },
      rounds: { total: 1, clientsPerRound: 6, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    const devices = await Promise.all([0, 1, 2, 3, 4, 5].map(() => rawDevice(running.url)))
    const given = (await Promise.all(devices.map((d) => d.checkin()))) as Assignment[]
    expect(given.map((g) => g.type)).toEqual(Array(6).fill('assignment'))
    // Declared 600 at assignment, plan of ⌈600/32⌉ = 19 steps of 32.
    const claims: [Record<string, number>, string][] = [
      [{ examples: 601, steps: 19 }, 'metadata.examples'],
      [{ examples: 600, steps: 20 }, 'metadata.steps'],
      // 10 steps of 32 see at most 320 examples.
      [{ examples: 321, steps: 10 }, 'metadata.examples'],
      [{ examples: 1, steps: 0 }, 'metadata.steps'],
    ]
    for (const [i, [metadata, field]] of claims.entries()) {
      const answer = await devices[i]!.upload(
        given[i]!,
        delta(() => 0.5),
        metadata,
      )
      expect(answer, JSON.stringify(metadata)).toMatchObject({
        status: 422,
        answer: { type: 'rejected', field },
      })
    }
    // A later check-in declaring more does not raise what the assignment allows.
    const more = [{ name: 'mnist', examples: 6000, labels: [6000] }]
    expect(await devices[4]!.checkin(more)).toMatchObject({ type: 'assignment', round: 1 })
    const inflated = await devices[4]!.upload(
      given[4]!,
      delta(() => 0.5),
      {
        examples: 6000,
        steps: 19,
      },
    )
    expect(inflated).toMatchObject({ status: 422, answer: { field: 'metadata.examples' } })
    // Partial work: 10 steps of 32, 320 examples. Accepted.
    const partial = await devices[5]!.upload(given[5]!, small(), {
      examples: 320,
      steps: 10,
      partial: true,
    })
    expect(partial).toMatchObject({ status: 200, answer: { type: 'accepted' } })

    clock.advance(60_000)
    const round = await committedOrAbandoned(task.id, 1)
    expect(round).toMatchObject({ status: 'committed', reported: 1, rejected: 5, examples: 320 })
    // Nothing refused leaked in: the model is the base plus the one accepted delta.
    const { token } = devices[5]!
    const [base, next] = await Promise.all([
      modelOf(round.baseModel, token),
      modelOf(round.model!, token),
    ])
    const want = small()
    for (const [t, w] of next.entries())
      for (let k = 0; k < w.data.length; k += 997)
        expect(w.data[k]).toBe(Math.fround(base[t]!.data[k]! + want[t]!.data[k]!))
  })

  it('abandons a round whose model is not finite in use, keeps the model, and commits honest rounds after', async () => {
    const task = await running.admin.createTask({
      name: 'float32 max',
      purpose,
      model: { preset: 'mnist-2nn' },
      aggregation: { normBound: 'off' },
      rounds: { total: 2, clientsPerRound: 3, minReports: 3, overSelect: 1, deadlineSeconds: 60 },
    })
    const devices = await Promise.all([0, 1, 2].map(() => rawDevice(running.url)))
    const upload = async (fill: (i: number) => number) => {
      const given = (await Promise.all(devices.map((d) => d.checkin()))) as Assignment[]
      return Promise.all(
        devices.map((d, i) => d.upload(given[i]!, delta(fill), { examples: 600, steps: 19 })),
      )
    }
    const wrecking = await upload(() => FLOAT32_MAX)
    expect(wrecking.map((a) => a.status)).toEqual([200, 200, 200])
    const first: RoundView = await committedOrAbandoned(task.id, 1)
    expect(first).toMatchObject({ status: 'abandoned', model: null, reported: 3 })
    expect(first.abandonedReason).toMatch(/held-out loss|not finite/)
    const after = await running.admin.task(task.id)
    expect(after).toMatchObject({ status: 'running', committedRounds: 0 })
    expect(after.model.hash).toBe(task.model.hash)

    // Round 2 starts from the same model, and honest devices commit it.
    const honest = await upload((i) => ((i % 5) - 2) * 1e-3)
    expect(honest.map((a) => a.status)).toEqual([200, 200, 200])
    const second = await committedOrAbandoned(task.id, 2)
    expect(second).toMatchObject({ status: 'committed', baseModel: task.model.hash })
    expect(second.loss).toBeGreaterThan(0)
    expect((await running.admin.task(task.id)).committedRounds).toBe(1)
  })
})
