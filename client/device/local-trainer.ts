import { modelsBySpec } from '../../shared/models/index.ts'
import { trainLocally } from '../../shared/training/index.ts'
import type { Trainer } from './trainer.ts'

/**
 * Trains in this thread with whatever TF.js backend is active. Many simulated devices share one
 * trainer: one model per spec, one job at a time (the backend runs one kernel at a time anyway).
 */
export function localTrainer({ seed }: { seed?: () => number } = {}): Trainer {
  const modelFor = modelsBySpec()
  let queue: Promise<unknown> = Promise.resolve()
  return {
    train(job) {
      const run = queue.then(async () => {
        job.signal?.throwIfAborted()
        const model = modelFor(job.spec)
        const began = performance.now()
        const result = await trainLocally({
          model,
          weights: job.weights,
          examples: job.examples,
          plan: job.plan,
          ...(seed ? { seed: seed() } : {}),
          ...(job.signal ? { signal: job.signal } : {}),
          ...(job.resumeFrom ? { resumeFrom: job.resumeFrom } : {}),
          ...(job.checkpointEvery ? { checkpointEvery: job.checkpointEvery } : {}),
          ...(job.onCheckpoint ? { onCheckpoint: job.onCheckpoint } : {}),
          ...(job.onProgress ? { onProgress: job.onProgress } : {}),
          ...(job.stopAt !== undefined ? { stopAt: job.stopAt } : {}),
        })
        return { ...result, trainingMs: performance.now() - began }
      })
      queue = run.catch(() => undefined)
      return run
    },
  }
}
