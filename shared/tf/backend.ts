import * as tf from '@tensorflow/tfjs-core'
import { registerWasmKernels } from '../kernels/index.ts'

export type BackendName = 'wasm' | 'cpu'

export interface UseBackendOptions {
  /**
   * Where the wasm backend finds its `.wasm` binaries (a URL prefix or a file map), for pages whose
   * bundler does not serve them beside the script. Node finds them by itself.
   */
  wasmPaths?: string | Partial<Record<string, string>>
}

/**
 * Registers the backend package (for wasm, with Pollen's own kernels: see shared/kernels), makes it
 * the active backend and waits for it to be ready.
 */
export async function useBackend(
  name: BackendName,
  options: UseBackendOptions = {},
): Promise<string> {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths)
    registerWasmKernels()
  } else {
    await import('@tensorflow/tfjs-backend-cpu')
  }
  const ok = await tf.setBackend(name)
  if (!ok) throw new Error(`TF.js backend '${name}' failed to initialise`)
  await tf.ready()
  return tf.getBackend()
}
