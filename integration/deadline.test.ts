import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shardIid, subset } from '../shared/data/index.ts'
import type { Assignment } from '../shared/protocol/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { createDevice, localTrainer, type Device } from '../client/device/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

const clock = createVirtualClock(Date.now())

describe('round deadlines on virtual time', () => {
  let running: Running
  let devices: Device[]
  beforeAll(async () => {
    running = await startCoordinator({ clock })
    const { train } = await loadMnist()
    const trainer = localTrainer()
    devices = shardIid(train, 4, 7).map((examples) =>
      createDevice({
        server: running.url,
        trainer,
        examples: subset(
          examples,
          Array.from({ length: 200 }, (_, k) => k),
        ),
        backend: 'wasm',
      }),
    )
    for (const device of devices) await device.enrol()
  })
  afterAll(() => running.close())

  /** All four devices check in and are selected; the first three train and upload. */
  async function roundWithOneSilentDevice(taskId: string) {
    const answers = await Promise.all(devices.map((d) => d.checkin()))
    expect(answers.map((a) => a.type)).toEqual([
      'assignment',
      'assignment',
      'assignment',
      'assignment',
    ])
    const assignments = answers as Assignment[]
    expect(assignments.every((a) => a.taskId === taskId && a.round === 1)).toBe(true)
    for (const [i, device] of devices.slice(0, 3).entries()) {
      const answer = await device.work(assignments[i]!)
      expect(answer?.type).toBe('accepted')
    }
    // Not yet closed: the fourth device still has until the deadline.
    expect((await running.admin.rounds(taskId))[0]).toMatchObject({
      status: 'open',
      reported: 3,
      selected: 4,
    })
    return assignments
  }

  const rounds = { total: 2, clientsPerRound: 4, overSelect: 1, deadlineSeconds: 60 }
  const train = { optimizer: 'sgd' as const, learningRate: 0.05, batchSize: 50, localEpochs: 1 }

  it('commits at the deadline with the 3 of 4 devices that reported', async () => {
    const task = await running.admin.createTask({
      name: 'deadline: commit with 3',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train,
      rounds: { ...rounds, minReports: 3 },
    })
    const assignments = await roundWithOneSilentDevice(task.id)
    clock.advance(59_000)
    expect((await running.admin.rounds(task.id))[0]?.status).toBe('open')
    clock.advance(1_000)
    const [first] = await waitFor(async () => {
      const r = await running.admin.rounds(task.id)
      return r[0]?.status === 'committed' ? r : undefined
    })
    expect(first).toMatchObject({ selected: 4, reported: 3, dropped: 1, late: 0, examples: 600 })
    expect(first!.model).not.toBe(task.model.hash)
    expect((await running.admin.task(task.id)).model.hash).toBe(first!.model)

    // The silent device wakes up and uploads: it is told it was late, and counted.
    const late = await devices[3]!.work(assignments[3]!)
    expect(late).toMatchObject({ type: 'late', round: 1 })
    expect((await running.admin.rounds(task.id))[0]).toMatchObject({ late: 1, reported: 3 })
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('abandons the round when fewer than minReports arrive, keeping the model', async () => {
    const task = await running.admin.createTask({
      name: 'deadline: abandon below 4',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train,
      rounds: { ...rounds, minReports: 4 },
    })
    await roundWithOneSilentDevice(task.id)
    clock.advance(60_000)
    const all = await waitFor(async () => {
      const r = await running.admin.rounds(task.id)
      return r[0]?.status === 'abandoned' && r[1] ? r : undefined
    })
    expect(all[0]).toMatchObject({ status: 'abandoned', reported: 3, dropped: 1, model: null })
    // The round is retried from the same model.
    expect(all[1]).toMatchObject({ round: 2, status: 'open', baseModel: task.model.hash })
    const after = await running.admin.task(task.id)
    expect(after.model.hash).toBe(task.model.hash)
    expect(after).toMatchObject({ status: 'running', round: 2, committedRounds: 0 })
  })
})
