// What the contribute loop says of itself, and what it trains with: types both the loop and
// the pass it runs share.
import type { Backend, ModelSpecWire } from '../../../shared/protocol/index.ts'
import type { Trainer, TrainProgress } from '../../device/trainer.ts'

export type { TrainProgress }

/** What the phone's trainer is: the runtime's `Trainer`, set up once. */
export interface AppTrainer extends Trainer {
  /** Picks the TF.js backend (WebGPU, WASM, CPU) and says which (for wasm: SIMD, threads). */
  init?(): Promise<{ backend: Backend; simd?: boolean; threads?: number }>
  /** Times a few training steps of `spec` on that backend. */
  measureSpeed?(spec: ModelSpecWire): Promise<{ examplesPerSecond: number }>
}

/** Where the contribution stands, for the screen. */
export type ContributionState =
  | { type: 'idle'; reason: string }
  | { type: 'starting' }
  | { type: 'checking-in'; backend: Backend }
  | { type: 'waiting'; backend: Backend; seconds: number; reason: string }
  | {
      type: 'training'
      backend: Backend
      taskId: string
      taskName: string
      round: number
      progress: TrainProgress | null
      /** The step a checkpoint let this round's training carry on from, after a reload. */
      resumedFrom: number | null
      /** The first step the worker reported in this run (resumedFrom + 1 when resumed). */
      firstStep: number | null
    }
  | { type: 'uploading'; backend: Backend; taskId: string; taskName: string; round: number }
  /** Trained updates wait for the network (they go when it returns, or the app opens again). */
  | { type: 'queued'; count: number }
  | { type: 'error'; message: string }

/** How soon to try again while updates wait for the network (an `online` event comes sooner). */
export const OFFLINE_RETRY_MS = 30_000
