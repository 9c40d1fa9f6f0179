import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localTrainer } from '../client/device/index.ts'
import { simulate } from '../client/simulator/simulate.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

// The device runtime uploads compressed (issue 18): simulated devices, two on top-k with error
// feedback and two on int8, train mnist-2nn through the real coordinator, which accepts both.

describe('devices uploading compressed', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it('runs a task to completion with devices on top-k and int8, each a fraction of float32', async () => {
    const task = await running.admin.createTask({
      name: 'compressed devices',
      purpose: 'Train a digit reader; only compressed weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localEpochs: 1 },
      rounds: { total: 3, clientsPerRound: 4, minReports: 4, overSelect: 1, deadlineSeconds: 60 },
      compression: { uploads: ['float32', 'topk', 'int8'] },
    })
    const { train } = await loadMnist()
    const summary = await simulate({
      server: running.url,
      clients: 4,
      partition: 'iid',
      examples: train,
      trainer: localTrainer(),
      codecs: ['topk', 'int8'],
      seed: 5,
    })
    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(3)
    expect(summary.accepted).toBe(12)
    const full = task.model.updateBytes
    // Six updates each: top-k at 1% about 0.08 bytes an entry, int8 about 1 (a quarter of float32).
    expect(Object.keys(summary.bytesUp).sort()).toEqual(['int8', 'topk'])
    expect(summary.bytesUp.topk).toBeLessThan((6 * full) / 40)
    expect(summary.bytesUp.int8).toBeLessThan((6 * full) / 3.8)
    expect(summary.bytesUp.int8).toBeGreaterThan((6 * full) / 4.2)
    const rounds = await running.admin.rounds(task.id)
    const up = rounds.reduce((sum, r) => sum + r.bytesUp, 0)
    expect(up).toBe(summary.bytesUp.topk! + summary.bytesUp.int8!)
  })
})
