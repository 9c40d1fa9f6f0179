// The simulated devices' side of bench:compression: uploads in a codec, and training seeded per
// device and round so that every codec's run trains the same devices on the same batches.
//
// The device runtime (client/device) sends float32 containers; until it takes a codec of its own,
// each bench device's fetch re-encodes its upload body in the run's codec on the way out, which is
// byte for byte what such a device would send. top-k keeps its error-feedback residual here, in
// memory, one per device (every device takes part in every round, so none goes stale).
import type { Trainer } from '../client/device/index.ts'
import { modelsBySpec } from '../shared/models/index.ts'
import {
  type Codec,
  decodeContainer,
  encodeContainer,
  flattenTensors,
  type NamedTensor,
  unflattenTensors,
} from '../shared/tensors/index.ts'
import { trainLocally } from '../shared/training/index.ts'

export interface CodecDevice {
  /** What the device's runtime fetches with: its upload bodies re-encoded in `codec`. */
  fetch: typeof fetch
  /** Updates it re-encoded so far. */
  readonly uploads: number
}

/** A uint32 from the device and the count, different for each (device, upload) pair. */
export const seedOf = (device: number, n: number): number =>
  (Math.imul(device + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0

/**
 * A fetch that sends a float32 update container (a POST with a byte body) in `codec` instead,
 * metadata unchanged; everything else goes through as it was.
 */
export function codecDevice(
  codec: Codec,
  device: number,
  { keep, inner = globalThis.fetch.bind(globalThis) }: { keep: number; inner?: typeof fetch },
): CodecDevice {
  let residual: Float32Array | null = null
  let uploads = 0
  const reencode = (body: Uint8Array): Uint8Array => {
    const container = decodeContainer(body)
    if (container.codec !== 'float32' || codec === 'float32') return body
    const seed = seedOf(device, uploads++)
    let tensors: NamedTensor[] = container.tensors
    if (codec === 'topk' && residual) {
      const sum = flattenTensors(tensors)
      for (let i = 0; i < sum.length; i++) sum[i]! += residual[i]!
      tensors = unflattenTensors(sum, tensors)
    }
    const bytes = encodeContainer({ tensors, metadata: container.metadata, codec, seed, keep })
    if (codec === 'topk') {
      // Error feedback: what top-k left out of delta + residual is added to the next delta.
      const sent = flattenTensors(decodeContainer(bytes).tensors)
      const next = flattenTensors(tensors)
      for (let i = 0; i < next.length; i++) next[i]! -= sent[i]!
      residual = next
    }
    return bytes
  }
  const wrapped = ((input: RequestInfo | URL, init?: RequestInit) => {
    const body = init?.body
    if (init?.method === 'POST' && body instanceof Uint8Array)
      return inner(input, { ...init, body: reencode(body) as Uint8Array<ArrayBuffer> })
    return inner(input, init)
  }) as typeof fetch
  return {
    fetch: wrapped,
    get uploads() {
      return uploads
    },
  }
}

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
