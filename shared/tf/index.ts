export * as tf from '@tensorflow/tfjs-core'
export * as tfl from '@tensorflow/tfjs-layers'
export { useBackend } from './backend.ts'
// Re-exported for the training loops that import it from here; it has nothing of TF.js.
export { nextMacrotask } from '../macrotask/index.ts'
export type { BackendName, UseBackendOptions } from './backend.ts'
