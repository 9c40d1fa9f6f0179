// What the page and the training worker say to each other through Comlink: types only, so the
// worker entry imports nothing from the page bundle and the page nothing from TF.js.
import type { Examples } from '../../../shared/data/index.ts'
import type { ModelSpecWire, TrainPlanWire } from '../../../shared/protocol/index.ts'
import type { NamedTensor } from '../../../shared/tensors/index.ts'
import type { SpeedMeasurement, TrainCheckpoint } from '../../../shared/training/index.ts'

export type { SpeedMeasurement, TrainCheckpoint }

/** TF.js backends the worker can train on; it tries them in this order: webgpu, wasm, cpu. */
export type WorkerBackend = 'webgpu' | 'wasm' | 'cpu'

export interface InitOptions {
  /** Try this backend first, then the others in the usual order (webgpu, wasm, cpu). */
  prefer?: WorkerBackend
  /**
   * Threads for the wasm backend's XNNPACK pool (cross-origin isolated workers only; one
   * elsewhere). Default: TF.js's choice, hardwareConcurrency / 2 within 1..8 (so one thread on a
   * 2-core phone); a larger number lifts that cap.
   */
  threads?: number
}

export interface InitResult {
  backend: WorkerBackend
  /** Threads the wasm backend's XNNPACK pool runs on (1 off wasm, or without isolation). */
  threads: number
  /** The wasm binary uses SIMD (false off wasm). */
  simd: boolean
  crossOriginIsolated: boolean
  /** Backends tried before this one and why each was passed over. */
  skipped: { backend: WorkerBackend; reason: string }[]
}

export interface TrainRequest {
  /** Names the job, so that `cancel(id)` can stop it. */
  id: string
  spec: ModelSpecWire
  weights: NamedTensor[]
  plan: TrainPlanWire
  examples: Examples
  /** Seeds the shuffles (tests). */
  seed?: number
  /** Carry on from this checkpoint of the same job (made before a reload). */
  resumeFrom?: TrainCheckpoint
  /** Send a checkpoint every this many steps (to the train call's `onCheckpoint`). */
  checkpointEvery?: number
  /** Partial work: past this time (ms since the epoch), stop after the current step. */
  stopAt?: number
}

export interface TrainResponse {
  delta: NamedTensor[]
  examples: number
  steps: number
  loss: number
  /** Stopped at `stopAt` before the plan's steps were done. */
  partial: boolean
  /** Wall time of the training loop in the worker, ms. */
  ms: number
}

export interface WorkerProgress {
  step: number
  totalSteps: number
  loss: number
}

/** The API the worker exposes (`Comlink.expose`). */
export interface TrainingWorkerApi {
  init(options?: InitOptions): Promise<InitResult>
  train(
    request: TrainRequest,
    onProgress?: (progress: WorkerProgress) => void,
    /** Its buffers are transferred; training waits for it (the page stores it first). */
    onCheckpoint?: (checkpoint: TrainCheckpoint) => Promise<void>,
  ): Promise<TrainResponse>
  /**
   * Class probabilities of one example of `shape` (bytes 0..255 or scaled float32 values) under
   * `weights`: "try the model". Runs on a model object of its own, so it never disturbs a
   * training job.
   */
  predict(
    spec: ModelSpecWire,
    weights: NamedTensor[],
    features: Uint8Array | Float32Array,
    shape: number[],
  ): Promise<Float32Array>
  /**
   * This backend's training speed: a few steps of `spec` on random inputs, queued behind any
   * training job so that the two do not share the time.
   */
  measureSpeed(spec: ModelSpecWire): Promise<SpeedMeasurement>
  /** Stops job `id` before its next batch; its `train` call then rejects. */
  cancel(id: string): void
  /** `tf.memory().numTensors`: flat across jobs, or something leaks. */
  memory(): number
}
