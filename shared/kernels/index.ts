import { getKernel, type KernelConfig, registerKernel } from '@tensorflow/tfjs-core'
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.ts'

export { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.ts'
export type { FilterGradientAttrs } from './Conv2DBackpropFilter.ts'

/** Kernels Pollen adds to TF.js's wasm backend, which lacks them (4.22). */
export const WASM_KERNELS: readonly KernelConfig[] = [conv2DBackpropFilterConfig]

/**
 * Registers Pollen's wasm kernels, each unless one of that name is registered already (ours, or
 * a later TF.js's own). Safe to call any number of times, before or after the backend is ready.
 * Returns the names it registered this time.
 */
export function registerWasmKernels(): string[] {
  const added: string[] = []
  for (const config of WASM_KERNELS) {
    if (getKernel(config.kernelName, config.backendName)) continue
    registerKernel(config)
    added.push(config.kernelName)
  }
  return added
}
