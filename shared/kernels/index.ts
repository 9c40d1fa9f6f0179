import {
  BatchMatMul,
  Conv2DBackpropInput,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core'
import { batchMatMulOverride } from './BatchMatMul.ts'
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.ts'
import { conv2DBackpropInputOverride } from './Conv2DBackpropInput.ts'
import { maxPoolGradOverride } from './MaxPoolGrad.ts'

export { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.ts'
export type { FilterGradientAttrs } from './Conv2DBackpropFilter.ts'

/** Kernels Pollen adds to TF.js's wasm backend, which lacks them (4.22). */
export const WASM_KERNELS: readonly KernelConfig[] = [conv2DBackpropFilterConfig]

/**
 * Kernels of TF.js's wasm backend that Pollen replaces with faster formulations; each wraps the
 * original, which it keeps for the cases it does not take.
 */
export const WASM_OVERRIDES: Readonly<Record<string, (original: KernelConfig) => KernelConfig>> = {
  [BatchMatMul]: batchMatMulOverride,
  [Conv2DBackpropInput]: conv2DBackpropInputOverride,
  [MaxPoolGrad]: maxPoolGradOverride,
}

const ours = new WeakSet<KernelFunc>(WASM_KERNELS.map((k) => k.kernelFunc))

/**
 * Registers Pollen's wasm kernels: each added kernel unless one of that name is registered already
 * (ours, or a later TF.js's own), and each override over TF.js's kernel of that name once. Call it
 * after the wasm backend package is imported (it registers the originals), before or after the
 * backend is ready. Returns the names it registered this time.
 */
export function registerWasmKernels(): string[] {
  const added: string[] = []
  for (const config of WASM_KERNELS) {
    if (getKernel(config.kernelName, config.backendName)) continue
    registerKernel(config)
    added.push(config.kernelName)
  }
  for (const [name, override] of Object.entries(WASM_OVERRIDES)) {
    const original = getKernel(name, 'wasm')
    if (!original || ours.has(original.kernelFunc)) continue
    const config = override(original)
    ours.add(config.kernelFunc)
    unregisterKernel(name, 'wasm')
    registerKernel(config)
    added.push(name)
  }
  return added
}

/** Whether the active registration of `kernelName` on wasm is Pollen's. */
export const isPollenWasmKernel = (kernelName: string): boolean => {
  const kernel = getKernel(kernelName, 'wasm')
  return kernel !== undefined && ours.has(kernel.kernelFunc)
}
