import { Worker } from 'node:worker_threads'
import type { ModelSpec, WeightSpec } from '../../shared/models/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import { tf, type BackendName } from '../../shared/tf/index.ts'

export interface BuildRequest {
  spec: ModelSpec
  seed: number
  /** A base64 tensor container to set into the fresh model instead of its random draw. */
  initialWeights?: string
}

export interface BuiltModel {
  weights: NamedTensor[]
  weightSpec: WeightSpec[]
  parameters: number
  /** The weights an update carries: all but a frozen layer's. */
  updateSpec: WeightSpec[]
  /** The model's Keras-format topology, as TF.js writes it (unseeded: for export). */
  topology: object
}

export type BuildReply =
  | ({ ok: true } & BuiltModel)
  | { ok: false; field: 'model.topology' | 'model.initialWeights'; message: string }

/** A build that failed or ran out of time; `field` is the spec field to blame. */
export class BuildError extends Error {
  constructor(
    readonly field: 'model.topology' | 'model.initialWeights',
    message: string,
  ) {
    super(message)
  }
}

/** Builds a task's fresh model and its initial weights, somewhere that cannot stop the caller. */
export interface ModelBuilder {
  build(request: BuildRequest): Promise<BuiltModel>
  close(): Promise<void>
}

export interface WorkerBuilderOptions {
  /** How long one build may take once the worker is up. */
  timeoutMs?: number
  /** How long a fresh worker may take to load TF.js and its backend. */
  startTimeoutMs?: number
  /** The worker's TF.js backend: by default the caller's, so both draw the same weights. */
  backend?: BackendName
}

/**
 * A ModelBuilder on a worker thread: builds never block the event loop, one that runs past
 * `timeoutMs` is stopped (the worker terminated), and a worker whose build failed is discarded,
 * so a WASM abort in it never reaches the coordinator's own backend or a later build. One build
 * at a time; the worker is started on first use and kept while builds succeed.
 */
export function workerBuilder({
  timeoutMs = 20_000,
  startTimeoutMs = 60_000,
  backend,
}: WorkerBuilderOptions = {}): ModelBuilder {
  let worker: Promise<Worker> | undefined
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false

  const discard = () => {
    const w = worker
    worker = undefined
    void w?.then((it) => it.terminate()).catch(() => undefined)
  }

  function start(): Promise<Worker> {
    const w = new Worker(new URL('./build-worker.mjs', import.meta.url), {
      workerData: { backend: backend ?? (tf.getBackend() === 'cpu' ? 'cpu' : 'wasm') },
      // The check bounds what a build allocates; this bounds the JS heap if it ever does not.
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    })
    w.unref() // an idle builder never keeps the process alive
    return settle(w, startTimeoutMs, 'starting the model builder', (m) =>
      (m as { ready?: boolean }).ready ? w : undefined,
    )
  }

  async function run(request: BuildRequest): Promise<BuiltModel> {
    if (closed) throw new Error('the model builder is closed')
    worker ??= start()
    let w: Worker
    try {
      w = await worker
    } catch (error) {
      discard()
      // The coordinator's failure, not the model's: no BuildError, so the API answers 500.
      throw new Error(`the model builder did not start: ${(error as Error).message}`)
    }
    try {
      w.postMessage(request)
      const reply = await settle(w, timeoutMs, 'building the model', (m) => m as BuildReply)
      if (!reply.ok) throw new BuildError(reply.field, reply.message)
      const { ok: _, ...built } = reply
      return built
    } catch (error) {
      // Whatever failed may have left the worker's backend broken: the next build gets a new one.
      discard()
      throw error
    }
  }

  return {
    build(request) {
      const result = queue.then(() => run(request))
      queue = result.catch(() => undefined)
      return result
    },
    async close() {
      closed = true
      const w = worker
      worker = undefined
      await w?.then((it) => it.terminate()).catch(() => undefined)
    },
  }
}

/**
 * The first message of `worker` that `accept` takes, or a BuildError when the worker fails,
 * exits, or says nothing acceptable within `ms`.
 */
function settle<T>(
  worker: Worker,
  ms: number,
  what: string,
  accept: (message: unknown) => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    const onMessage = (message: unknown) => {
      const value = accept(message)
      if (value === undefined) return
      done()
      resolve(value)
    }
    const onError = (error: Error) => {
      done()
      reject(new BuildError('model.topology', `${what} failed: ${error.message}`))
    }
    const onExit = (code: number) => {
      done()
      reject(new BuildError('model.topology', `${what} failed: the worker exited (${code})`))
    }
    const timer = setTimeout(() => {
      done()
      reject(
        new BuildError(
          'model.topology',
          `${what} took more than ${ms / 1000} s, so it was stopped; make the model smaller`,
        ),
      )
    }, ms)
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
  })
}
