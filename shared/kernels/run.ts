import {
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core'

/**
 * Runs another wasm kernel on the same backend, for a kernel built from others; the caller
 * disposes what it returns. `by` names the calling kernel in the error.
 */
export function runWasmKernel(
  by: string,
  kernelName: string,
  backend: KernelBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm')
  if (!kernel) throw new Error(`${by} (wasm) needs the ${kernelName} kernel`)
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo
}

/** The wasm backend's view of a tensor's bytes on its heap, as much of its API as kernels use. */
export interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo
  typedArrayFromHeap(info: TensorInfo): Float32Array
}

/**
 * A conv2d gradient kernel's attributes plus `dilations`, which TF.js never passes: tfjs-core's
 * conv2d gradient refuses dilation rates above 1 on every backend. Pollen's kernels honour them
 * all the same.
 */
export type WithDilations<Attrs> = Attrs & { dilations?: [number, number] | number }
