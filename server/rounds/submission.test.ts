// What a closed round says beyond its model: how long it waited for devices apart from how long
// they worked, and the training loss its devices reported, weighted by their examples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Assignment,
  type CheckinRequest,
  type RoundView,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import { createEventBus } from '../events/index.ts'
import { COUNTERS_INTERVAL_MS } from './live.ts'
import { testScheduler } from './testing.ts'

const request: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 60, labels: [60] }],
}

describe('a round closes with its phases and its devices’ training loss', () => {
  const events = createEventBus()
  let t: Awaited<ReturnType<typeof testScheduler>>

  beforeAll(async () => {
    t = await testScheduler({ events })
  })
  afterAll(() => t.close())

  const nextClose = (taskId: string) =>
    new Promise<RoundView>((resolve) => {
      const stop = events.subscribe(({ event }) => {
        if (event.type !== 'round.closed' || event.taskId !== taskId) return
        stop()
        resolve(event.round)
      })
    })

  /** A one-round task of `minReports` whose four devices `name`1..4 are all assigned. */
  async function fourAssigned(name: string, minReports: number) {
    const task = await t.scheduler.createTask(
      TaskSpecSchema.parse({
        name,
        purpose: name,
        model: { preset: 'mnist-2nn' },
        rounds: { total: 1, clientsPerRound: 4, minReports, overSelect: 1 },
      }),
    )
    const devices = await t.enrol(...[1, 2, 3, 4].map((i) => `${name}${i}`))
    const assignments: Assignment[] = []
    for (const device of devices)
      assignments.push((await t.scheduler.checkin(device, request)) as Assignment)
    const closed = nextClose(task.id)
    const upload = (i: number, body: Uint8Array, recycleBody?: (bytes: Uint8Array) => void) =>
      t.scheduler.upload({
        device: devices[i]!,
        taskId: task.id,
        round: assignments[i]!.round,
        readBody: () => Promise.resolve(body),
        ...(recycleBody && { recycleBody }),
      })
    const update = (baseModel = assignments[0]!.model.hash) =>
      t.zeroUpdate({ steps: 1, examples: 10, baseModel })
    return { task, closed, upload, update }
  }

  it('splits waiting for devices from their work, and weighs the reported loss by examples', async () => {
    const task = await t.scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'phases',
        purpose: 'round phases and training loss',
        model: { preset: 'mnist-2nn' },
        rounds: { total: 2, clientsPerRound: 3, minReports: 1, overSelect: 1 },
      }),
    )
    // Nobody comes for 150 s; then three devices are selected and report 4 s later.
    t.clock.advance(150_000)
    const devices = await t.enrol('a', 'b', 'c')
    const assignments: Assignment[] = []
    for (const device of devices)
      assignments.push((await t.scheduler.checkin(device, request)) as Assignment)
    t.clock.advance(4_000)
    const closed = nextClose(task.id)
    const reports = [
      { examples: 10, loss: 1 },
      { examples: 30, loss: 2 },
      // A device that did not say its loss counts for nothing in the mean. (Batches of 32.)
      { examples: 60, steps: 2 },
    ]
    for (const [i, device] of devices.entries()) {
      const { round, model } = assignments[i]!
      const body = t.zeroUpdate({ steps: 1, baseModel: model.hash, ...reports[i]! })
      const answer = await t.scheduler.upload({
        device,
        taskId: task.id,
        round,
        readBody: () => Promise.resolve(body),
      })
      expect(answer.answer.type).toBe('accepted')
    }
    const round = await closed
    expect(round).toMatchObject({ status: 'committed', waitingSeconds: 150, trainingSeconds: 4 })
    expect(round.firstAssignedAt).toBe(new Date(1_000_000 + 150_000).toISOString())
    expect(round.trainingLoss).toBeCloseTo((10 * 1 + 30 * 2) / 40, 12)
    // The same from the store, once the round is written.
    const [stored] = await t.scheduler.listRounds(task.id)
    expect(stored).toMatchObject({ waitingSeconds: 150, trainingSeconds: 4 })
    expect(stored!.trainingLoss).toBeCloseTo(1.75, 12)

    // The next round: open, nobody yet, so it is still waiting and nothing is measured.
    const [, open] = await t.scheduler.listRounds(task.id)
    expect(open).toMatchObject({
      status: 'open',
      firstAssignedAt: null,
      waitingSeconds: null,
      trainingSeconds: null,
      trainingLoss: null,
    })
    await t.scheduler.deleteTask(task.id)
  })

  it('stores the open round’s counters at most once a second as updates come, and all as it closes', async () => {
    const { task, closed, upload, update } = await fourAssigned('counters', 1)
    t.clock.advance(COUNTERS_INTERVAL_MS) // the last selection's write is a second old
    const counted = async (i: number) => {
      await upload(i, update())
      await t.scheduler.settled()
      const [stored] = await t.store.listRounds(task.id)
      const [shown] = await t.scheduler.listRounds(task.id)
      return [stored!.reported, shown!.reported]
    }
    expect(await counted(0)).toEqual([1, 1])
    // Within the second: the API counts the report, the store waits for the next write.
    expect(await counted(1)).toEqual([1, 2])
    t.clock.advance(COUNTERS_INTERVAL_MS)
    expect(await counted(2)).toEqual([3, 3])
    await counted(3)
    expect(await closed).toMatchObject({ reported: 4 })
    const [stored] = await t.store.listRounds(task.id)
    expect(stored).toMatchObject({ status: 'committed', reported: 4 })
    await t.scheduler.deleteTask(task.id)
  })

  it('gives an accepted body back for reuse once the round’s sum has it, a rejected one never', async () => {
    // The norm bound calibrates on the first 3 reports: they are held until the third.
    const { task, closed, upload, update } = await fourAssigned('recycled', 3)
    const given: Uint8Array[] = []
    // A body given back is overwritten at once (NaN bytes), as the next upload would.
    const recycle = (bytes: Uint8Array) => given.push(bytes.fill(0xff))
    const rejected = await upload(0, update('f'.repeat(64)), recycle)
    expect(rejected.answer.type).toBe('rejected')
    const bodies = [1, 2, 3].map(() => update())
    for (const [i, body] of bodies.entries()) {
      expect((await upload(i + 1, body, recycle)).answer.type).toBe('accepted')
      expect(given.length).toBe(i < 2 ? 0 : 3)
    }
    expect(given.every((bytes, k) => bytes === bodies[k])).toBe(true)
    t.clock.advance(24 * 3600 * 1000) // the round waits for its fourth device until its deadline
    expect(await closed).toMatchObject({ status: 'committed', reported: 3 })
    await t.scheduler.deleteTask(task.id)
  })
})
