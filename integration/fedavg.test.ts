import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../data/mnist-file.ts'
import { localTrainer } from '../client/device/index.ts'
import { simulate } from '../client/simulator/simulate.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

describe('federated rounds over HTTP', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it('10 IID devices train mnist-2nn for 5 rounds to ≥ 0.85 held-out accuracy', async () => {
    const task = await running.admin.createTask({
      name: 'acceptance: mnist-2nn IID',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      rounds: {
        total: 5,
        clientsPerRound: 10,
        minReports: 10,
        overSelect: 1,
        deadlineSeconds: 300,
      },
    })
    const { train } = await loadMnist()
    const summary = await simulate({
      server: running.url,
      clients: 10,
      partition: 'iid',
      examples: train,
      trainer: localTrainer(),
    })
    expect(summary).toMatchObject({ accepted: 50, late: 0, rejected: 0 })

    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(5)

    const rounds = await running.admin.rounds(task.id)
    expect(rounds.map((r) => [r.round, r.status])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [n, 'committed']),
    )
    for (const [i, r] of rounds.entries()) {
      expect(r).toMatchObject({
        selected: 10,
        reported: 10,
        late: 0,
        rejected: 0,
        dropped: 0,
        examples: 8000,
      })
      expect(Date.parse(r.closedAt!)).toBeGreaterThanOrEqual(Date.parse(r.startedAt))
      // Each round starts from the model the previous round committed.
      expect(r.baseModel).toBe(i === 0 ? task.model.hash : rounds[i - 1]!.model)
    }
    expect(rounds.at(-1)!.model).toBe(done.model.hash)
    expect(rounds.at(-1)!.accuracy).toBeGreaterThanOrEqual(0.85)
    expect(rounds.at(-1)!.accuracy).toBeGreaterThan(rounds[0]!.accuracy!)
  })
})
