// The page's side of the training worker: a `Trainer` (client/device/trainer.ts) that trains in a
// module Web Worker through Comlink, so the device runtime can use it as it uses the local one.
import * as Comlink from 'comlink'
import type { Trainer, TrainJob, TrainOutcome } from '../../device/trainer.ts'
import type { ModelSpecWire } from '../../../shared/protocol/index.ts'
import type { NamedTensor } from '../../../shared/tensors/index.ts'
import type { Examples } from '../../../shared/data/index.ts'
import type {
  InitOptions,
  InitResult,
  SpeedMeasurement,
  TrainingWorkerApi,
  WorkerProgress,
} from './api.ts'

export type {
  InitOptions,
  InitResult,
  SpeedMeasurement,
  WorkerBackend,
  WorkerProgress,
} from './api.ts'

/** Why there is no worker to train in: the browser cannot start one, or it failed to load. */
export class WorkerUnavailableError extends Error {
  override name = 'WorkerUnavailableError'
  readonly code = 'worker-unavailable'
}

export interface WorkerTrainerOptions {
  /** Every job's progress (batches done, loss), as the worker reports it. */
  onProgress?: (progress: WorkerProgress) => void
  /**
   * Send copies of the weights and examples (the copies are transferred, not cloned). The device
   * runtime reuses both across rounds, so keep this on unless the caller gives them up.
   */
  copyInputs?: boolean
  /** Seeds each job's shuffles (tests). */
  seed?: () => number
}

export interface WorkerTrainer extends Trainer {
  /** Starts TF.js in the worker on the best backend it can, and says which. */
  init(options?: InitOptions): Promise<InitResult>
  /** Also takes a per-job `onProgress`; answers with the worker's training time, ms. */
  train(
    job: TrainJob & { onProgress?: (progress: WorkerProgress) => void },
  ): Promise<TrainOutcome & { ms: number }>
  /** `tf.memory().numTensors` in the worker. */
  memory(): Promise<number>
  /** Class probabilities of one example of `shape` under `weights`, computed in the worker. */
  predict(
    spec: ModelSpecWire,
    weights: NamedTensor[],
    features: Uint8Array | Float32Array,
    shape: number[],
  ): Promise<Float32Array>
  /** The worker backend's training speed on `spec` (a short benchmark in the worker). */
  measureSpeed(spec: ModelSpecWire): Promise<SpeedMeasurement>
  /** Stops the worker; calls after it reject. */
  terminate(): void
}

/**
 * A Trainer backed by the training worker. When this browser cannot start a module worker, or
 * the worker fails to load, every call rejects with a WorkerUnavailableError that says so (the app
 * shows it and does not check in for work it cannot do).
 */
export function createWorkerTrainer({
  onProgress,
  copyInputs = true,
  seed,
}: WorkerTrainerOptions = {}): WorkerTrainer {
  let worker: Worker
  try {
    if (typeof Worker !== 'function') throw new Error('this browser has no Web Workers')
    worker = new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: 'pollen-training',
    })
  } catch (error) {
    return unavailable(`the training worker cannot start: ${message(error)}`)
  }
  let failure: WorkerUnavailableError | null = null
  const failed = new Promise<never>((_, reject) => {
    const fail = (why: string) => {
      failure ??= new WorkerUnavailableError(why)
      reject(failure)
    }
    worker.addEventListener('error', (event) =>
      fail(`the training worker failed to load: ${event.message || 'a script error'}`),
    )
    worker.addEventListener('messageerror', () =>
      fail('the training worker sent a message that could not be read'),
    )
  })
  failed.catch(() => undefined)
  const remote = Comlink.wrap<TrainingWorkerApi>(worker)
  const call = <T>(work: () => Promise<T>): Promise<T> =>
    failure ? Promise.reject(failure) : Promise.race([work(), failed])
  let jobs = 0

  return {
    init: (options = {}) => call(() => remote.init(options)),
    memory: () => call(() => remote.memory()),
    predict: (spec, weights, features, shape) =>
      call(() => remote.predict(spec, weights, features, shape)),
    measureSpeed: (spec) => call(() => remote.measureSpeed(spec)),
    terminate() {
      failure ??= new WorkerUnavailableError('the training worker was terminated')
      remote[Comlink.releaseProxy]()
      worker.terminate()
    },
    async train(job) {
      job.signal?.throwIfAborted()
      const id = `job-${++jobs}`
      const weights = job.weights.map((t) => (copyInputs ? { ...t, data: t.data.slice() } : t))
      const examples: Examples = copyInputs
        ? {
            count: job.examples.count,
            shape: [...job.examples.shape],
            features: job.examples.features.slice(),
            labels: job.examples.labels.slice(),
          }
        : job.examples
      const buffers = [
        ...weights.map((t) => t.data.buffer as ArrayBuffer),
        examples.features.buffer as ArrayBuffer,
        examples.labels.buffer as ArrayBuffer,
      ]
      const progress = job.onProgress ?? onProgress
      const abort = () => void remote.cancel(id)
      job.signal?.addEventListener('abort', abort, { once: true })
      try {
        const request = Comlink.transfer(
          {
            id,
            spec: job.spec,
            weights,
            plan: job.plan,
            examples: {
              count: examples.count,
              shape: examples.shape,
              features: examples.features,
              labels: examples.labels,
            },
            ...(seed ? { seed: seed() } : {}),
            ...(job.resumeFrom ? { resumeFrom: job.resumeFrom } : {}),
            ...(job.checkpointEvery ? { checkpointEvery: job.checkpointEvery } : {}),
            ...(job.stopAt !== undefined ? { stopAt: job.stopAt } : {}),
          },
          [...new Set(buffers)],
        )
        const checkpoint = job.onCheckpoint
        const result = await call(() =>
          remote.train(
            request,
            progress ? Comlink.proxy(progress) : undefined,
            checkpoint ? Comlink.proxy(checkpoint) : undefined,
          ),
        )
        const delta: NamedTensor[] = result.delta
        return {
          delta,
          examples: result.examples,
          steps: result.steps,
          loss: result.loss,
          partial: result.partial,
          ms: result.ms,
        }
      } finally {
        job.signal?.removeEventListener('abort', abort)
      }
    },
  }
}

function unavailable(why: string): WorkerTrainer {
  const error = new WorkerUnavailableError(why)
  const reject = () => Promise.reject(error)
  return {
    init: reject,
    memory: reject,
    train: reject,
    predict: reject,
    measureSpeed: reject,
    terminate() {},
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))
