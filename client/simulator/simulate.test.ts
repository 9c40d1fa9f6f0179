import { describe, expect, it } from 'vitest'
import type { Trainer, TrainJob } from '../device/index.ts'
import { slowedTrainer } from './simulate.ts'

describe('slowedTrainer', () => {
  const jobs: TrainJob[] = []
  const trainer: Trainer = {
    train(job) {
      jobs.push(job)
      return Promise.resolve({ delta: [], examples: 1, steps: 1, loss: 1 })
    },
  }
  const job = (stopAt?: number): TrainJob => ({
    spec: { preset: 'mnist-2nn' },
    weights: [],
    plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
    examples: { count: 0, shape: [1], features: new Uint8Array(0), labels: new Uint8Array(0) },
    ...(stopAt !== undefined ? { stopAt } : {}),
  })

  it('stops a device 4x slower after a quarter of the time it has, and leaves others be', async () => {
    const now = () => 1000
    await slowedTrainer(trainer, 4, now).train(job(9000))
    // 8 s left: trained at full speed for 2 s, then made to wait 6 s more, it uploads at 9000.
    expect(jobs.at(-1)!.stopAt).toBe(3000)
    await slowedTrainer(trainer, 4, now).train(job())
    expect(jobs.at(-1)!.stopAt).toBeUndefined()
    expect(slowedTrainer(trainer, 1)).toBe(trainer)
  })
})
