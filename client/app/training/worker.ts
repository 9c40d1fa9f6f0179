// The training worker: TF.js and the training core, off the page's thread, behind Comlink.
// An entry of its own (vite builds it apart): it imports shared/ and packages, never the page's
// modules; api.ts gives it types only.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import * as Comlink from 'comlink'
import { modelsBySpec } from '../../../shared/models/index.ts'
import { tf, useBackend } from '../../../shared/tf/index.ts'
import { measureSpeed as timeTraining, trainLocally } from '../../../shared/training/index.ts'
import { predict } from '../../../shared/training/predict.ts'
import type {
  TrainCheckpoint,
  InitOptions,
  InitResult,
  TrainingWorkerApi,
  TrainResponse,
  WorkerBackend,
  WorkerProgress,
} from './api.ts'

/** The wasm binaries, emitted by the build as hashed assets (and precached by the service worker). */
const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
}

const ORDER: readonly WorkerBackend[] = ['webgpu', 'wasm', 'cpu']

interface Gpu {
  requestAdapter(): Promise<unknown>
}

let ready: Promise<InitResult> | null = null
let wasmThreads = 1
// Models for training, and others for predicting: setting weights into a model a job is
// training would corrupt the job.
const model = modelsBySpec()
const jobs = new Map<string, AbortController>()
const predictor = modelsBySpec()
let queue: Promise<unknown> = Promise.resolve()

async function tryBackend(name: WorkerBackend, threads?: number): Promise<string | null> {
  switch (name) {
    case 'webgpu': {
      const gpu = (navigator as { gpu?: Gpu }).gpu
      if (!gpu) return 'navigator.gpu is missing (no WebGPU in this browser or context)'
      if (!(await gpu.requestAdapter())) return 'navigator.gpu.requestAdapter() found no adapter'
      await import('@tensorflow/tfjs-backend-webgpu')
      if (!(await tf.setBackend('webgpu'))) return "TF.js could not initialise 'webgpu'"
      await tf.ready()
      return null
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm')
      if (threads !== undefined) {
        // The backend sizes XNNPACK's pool when it is created, and caps it at
        // hardwareConcurrency / 2 (it assumes two hyperthreads a core): on a 2-core machine one
        // thread, whatever setThreadsCount asks. Asked for more, lift the cap for this worker.
        if (self.crossOriginIsolated && threads > Math.floor(navigator.hardwareConcurrency / 2)) {
          const logical = threads * 2
          Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => logical })
        }
        wasm.setThreadsCount(threads)
      }
      await useBackend('wasm', { wasmPaths: WASM_PATHS })
      wasmThreads = wasm.getThreadsCount()
      return null
    }
    case 'cpu':
      await useBackend('cpu')
      return null
  }
}

async function choose({ prefer, threads }: InitOptions): Promise<InitResult> {
  const order = prefer ? [prefer, ...ORDER.filter((b) => b !== prefer)] : ORDER
  const skipped: InitResult['skipped'] = []
  for (const backend of order) {
    let reason: string | null
    try {
      reason = await tryBackend(backend, threads)
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error)
    }
    if (reason !== null) {
      skipped.push({ backend, reason })
      continue
    }
    const wasm = backend === 'wasm'
    return {
      backend,
      threads: wasm ? wasmThreads : 1,
      simd: wasm && (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
      crossOriginIsolated: self.crossOriginIsolated,
      skipped,
    }
  }
  throw new Error(
    `no TF.js backend could start in the worker: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  )
}

const api: TrainingWorkerApi = {
  init(options = {}) {
    // One backend per worker: a second init answers what the first chose.
    ready ??= choose(options)
    ready.catch(() => (ready = null))
    return ready
  },

  train(request, onProgress, onCheckpoint) {
    const controller = new AbortController()
    jobs.set(request.id, controller)
    const run = queue.then(async (): Promise<TrainResponse> => {
      try {
        if (!ready) await api.init()
        await ready
        const start = performance.now()
        const result = await trainLocally({
          model: model(request.spec),
          weights: request.weights,
          examples: request.examples,
          plan: request.plan,
          signal: controller.signal,
          ...(request.seed !== undefined ? { seed: request.seed } : {}),
          ...(request.resumeFrom ? { resumeFrom: request.resumeFrom } : {}),
          ...(request.stopAt !== undefined ? { stopAt: request.stopAt } : {}),
          ...(onCheckpoint && request.checkpointEvery
            ? {
                checkpointEvery: request.checkpointEvery,
                onCheckpoint: (checkpoint: TrainCheckpoint) =>
                  onCheckpoint(
                    Comlink.transfer(checkpoint, [
                      ...checkpoint.weights.map((t) => t.data.buffer as ArrayBuffer),
                      ...checkpoint.optimizer.map((t) => t.data.buffer as ArrayBuffer),
                    ]),
                  ),
              }
            : {}),
          ...(onProgress
            ? {
                onProgress: ({ step, totalSteps, loss }: WorkerProgress) =>
                  void onProgress({ step, totalSteps, loss }),
              }
            : {}),
        })
        const response = { ...result, ms: performance.now() - start }
        return Comlink.transfer(
          response,
          result.delta.map((t) => t.data.buffer as ArrayBuffer),
        )
      } finally {
        jobs.delete(request.id)
        // The page's callbacks arrived as Comlink proxies on ports of their own: close them.
        for (const callback of [onProgress, onCheckpoint]) {
          const remote = callback as Partial<Comlink.Remote<() => void>> | undefined
          remote?.[Comlink.releaseProxy]?.()
        }
      }
    })
    queue = run.catch(() => undefined)
    return run
  },

  async predict(spec, weights, features, shape) {
    if (!ready) await api.init()
    await ready
    const probs = await predict(predictor(spec), weights, features, shape)
    return Comlink.transfer(probs, [probs.buffer as ArrayBuffer])
  },

  measureSpeed(spec) {
    const run = queue.then(async () => {
      if (!ready) await api.init()
      await ready
      return timeTraining({ spec })
    })
    queue = run.catch(() => undefined)
    return run
  },

  cancel(id) {
    jobs.get(id)?.abort(new DOMException(`training job ${id} was cancelled`, 'AbortError'))
  },

  memory() {
    return tf.memory().numTensors
  },
}

Comlink.expose(api)
