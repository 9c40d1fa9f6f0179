export * as tf from '@tensorflow/tfjs-core'
export * as tfl from '@tensorflow/tfjs-layers'
export { useBackend, nextMacrotask } from './backend.ts'
export type { BackendName, UseBackendOptions } from './backend.ts'
