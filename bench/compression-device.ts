// The simulated devices' trainers for bench:compression: training seeded per device and round, so
// that every codec's run trains the same devices on the same batches; and, under top-k, error
// feedback. The devices upload through the device runtime's own codec part (DeviceOptions.codec),
// which does not keep top-k's residual yet: each device's trainer keeps it here instead, in
// memory, adding it to the next delta it hands back, exactly as the runtime's encoder will drop it
// (the same container encode, the same k). Every device takes part in every round: none goes stale.
import type { Trainer } from '../client/device/index.ts'
import { modelsBySpec } from '../shared/models/index.ts'
import { encodeContainerWithResidual, type NamedTensor } from '../shared/tensors/index.ts'
import { trainLocally } from '../shared/training/index.ts'

/** A uint32 from the device and the count, different for each (device, job) pair. */
export const seedOf = (device: number, n: number): number =>
  (Math.imul(device + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0

/** delta + residual, tensor by tensor (a fresh copy). */
const plus = (delta: readonly NamedTensor[], residual: readonly Float32Array[]): NamedTensor[] =>
  delta.map((t, i) => ({ ...t, data: t.data.map((v, k) => v + residual[i]![k]!) }))

/**
 * Error feedback for top-k: the delta plus what the last upload left out, and the new residual,
 * what top-k will leave out of that sum.
 */
export function withErrorFeedback(): (delta: NamedTensor[]) => NamedTensor[] {
  let residual: Float32Array[] | undefined
  return (delta) => {
    const sum = residual ? plus(delta, residual) : delta
    residual = encodeContainerWithResidual({ tensors: sum, codec: 'topk' }).residual
    return sum
  }
}

/**
 * Trainers for `devices` devices sharing one model per spec and one queue (one job at a time, as
 * client/device's localTrainer), each job's shuffles seeded by its device and its count there.
 */
export function seededTrainers(devices: number, { topk }: { topk: boolean }): Trainer[] {
  const modelFor = modelsBySpec()
  let queue: Promise<unknown> = Promise.resolve()
  return Array.from({ length: devices }, (_, device) => {
    let jobs = 0
    const feedback = topk ? withErrorFeedback() : (delta: NamedTensor[]) => delta
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
          const trainingMs = performance.now() - began
          return { ...result, delta: feedback(result.delta), trainingMs }
        })
        queue = run.catch(() => undefined)
        return run
      },
    }
  })
}
