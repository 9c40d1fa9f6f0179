// The simulated devices' trainers for bench:compression: training seeded per device and round, so
// that every codec's run trains the same devices on the same batches. The devices upload through
// the device runtime's own codec part (DeviceOptions.codec), which keeps top-k's residual in
// memory (error feedback) for as long as the device runs.
import type { Trainer } from '../client/device/index.ts'
import { modelsBySpec } from '../shared/models/index.ts'
import { trainLocally } from '../shared/training/index.ts'

/** A uint32 from the device and the count, different for each (device, job) pair. */
export const seedOf = (device: number, n: number): number =>
  (Math.imul(device + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0

/**
 * Trainers for `devices` devices sharing one model per spec and one queue (one job at a time, as
 * client/device's localTrainer), each job's shuffles seeded by its device and its count there.
 */
export function seededTrainers(devices: number): Trainer[] {
  const modelFor = modelsBySpec()
  let queue: Promise<unknown> = Promise.resolve()
  return Array.from({ length: devices }, (_, device) => {
    let jobs = 0
    return {
      train(job) {
        const seed = seedOf(device, jobs++)
        const run = queue.then(async () => {
          const began = performance.now()
          const result = await trainLocally({
            model: modelFor(job.spec),
            weights: job.weights,
            examples: job.examples,
            plan: job.plan,
            seed,
            ...(job.signal ? { signal: job.signal } : {}),
          })
          return { ...result, trainingMs: performance.now() - began }
        })
        queue = run.catch(() => undefined)
        return run
      },
    }
  })
}
