import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localTrainer } from '../client/device/index.ts'
import { simulate } from '../client/simulator/simulate.ts'
import { subset } from '../shared/data/index.ts'
import type { TaskSpecInput } from '../shared/protocol/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

// A new task once started from whatever model the coordinator last evaluated for its preset:
// the previous task's trained one. Every task must start from its own draw.
describe('a new task starts from its own initialisation', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  const spec = (name: string, total: number, seed?: number): TaskSpecInput => ({
    name,
    purpose: 'Check that a task never inherits another task’s weights.',
    model: { preset: 'mnist-2nn' },
    ...(seed === undefined ? {} : { seed }),
    train: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localEpochs: 1 },
    rounds: { total, clientsPerRound: 3, minReports: 3, overSelect: 1, deadlineSeconds: 300 },
  })

  async function runToCompletion(id: string) {
    const { train } = await loadMnist()
    // The same three shards and shuffles every time: rounds that start alike end alike.
    await simulate({
      server: running.url,
      clients: 3,
      partition: 'iid',
      examples: subset(
        train,
        Array.from({ length: 1500 }, (_, i) => i),
      ),
      trainer: localTrainer({ seed: () => 7 }),
    })
    await waitFor(async () =>
      (await running.admin.task(id)).status === 'completed' ? true : undefined,
    )
    return running.admin.rounds(id)
  }

  it('a second task of one preset is not any model the first committed, and learns as a fresh one', async () => {
    const first = await running.admin.createTask(spec('first', 3, 1234))
    expect(first.seed).toBe(1234)
    const firstRounds = await runToCompletion(first.id)
    expect(firstRounds.map((r) => r.status)).toEqual(['committed', 'committed', 'committed'])
    const committed = firstRounds.map((r) => r.model)

    // Another seed: another draw, none of the first task's models.
    const other = await running.admin.createTask(spec('other seed', 1))
    expect(other.seed).toEqual(expect.any(Number))
    expect(committed).not.toContain(other.model.hash)
    expect(other.model.hash).not.toBe(first.model.hash)
    await running.admin.call(`/api/v1/tasks/${other.id}`, { method: 'DELETE' })

    // The first task's seed again: exactly its initial model, not its trained one.
    const second = await running.admin.createTask(spec('second', 1, 1234))
    expect(second.model.hash).toBe(first.model.hash)
    expect(committed).not.toContain(second.model.hash)
    const [round1] = await runToCompletion(second.id)
    // Round 1 reaches what the first task's round 1 reached from the same start, not where
    // three rounds of training had taken it.
    expect(round1!.accuracy).toBeCloseTo(firstRounds[0]!.accuracy!, 2)
    expect(firstRounds[2]!.accuracy!).toBeGreaterThan(round1!.accuracy! + 0.02)
  })
})
