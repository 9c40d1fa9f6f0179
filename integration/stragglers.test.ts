import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RoundDeviceView, TaskSpecInput } from '../shared/protocol/index.ts'
import { localTrainer } from '../client/device/index.ts'
import { simulate } from '../client/simulator/simulate.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

/**
 * 20 simulated devices, 6 of them 5–10× slower, one round of mnist-2nn with more local work than
 * they can all finish before the deadline.
 */
async function oneRound(running: Running, work: TaskSpecInput['work']) {
  const task = await running.admin.createTask({
    name: 'stragglers',
    purpose: 'Train a digit reader; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
    train: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localEpochs: 30 },
    rounds: { total: 1, clientsPerRound: 20, minReports: 10, overSelect: 1, deadlineSeconds: 12 },
    ...(work ? { work } : {}),
  })
  const { train } = await loadMnist()
  const summary = await simulate({
    server: running.url,
    clients: 20,
    partition: 'noniid',
    examples: train,
    trainer: localTrainer(),
    slowDevices: 6,
    seed: 3,
  })
  await waitFor(async () =>
    (await running.admin.task(task.id)).status === 'completed' ? true : undefined,
  )
  const [round] = await running.admin.rounds(task.id)
  const devices = (await (
    await running.admin.call(`/api/v1/tasks/${task.id}/rounds/1/devices`)
  ).json()) as { devices: RoundDeviceView[] }
  const slow = devices.devices.filter((d) => summary.slowLabels.includes(d.label ?? ''))
  return { summary, round: round!, slow }
}

describe('stragglers', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it("a deadline-aware round includes the slow devices' partial updates", async () => {
    // About 25 s of training in all (the simulated devices share one trainer), in a 12 s round.
    const { summary, round, slow } = await oneRound(running, { deadlineAware: true, margin: 0.5 })
    expect(summary.slowLabels).toHaveLength(6)
    expect(slow).toHaveLength(6)
    expect(slow.map((d) => d.state)).toEqual(slow.map(() => 'reported'))
    expect(round.status).toBe('committed')
    expect(round.reported).toBe(20)
    expect(round.late).toBe(0)
    expect(round.participation.partial.devices).toBeGreaterThanOrEqual(6)
    expect(summary.partial).toBe(round.participation.partial.devices)
  })
})
