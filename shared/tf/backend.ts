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

/**
 * Resolves on the next macrotask, so that other work (timers, I/O, messages, other simulated
 * devices) gets a turn. setImmediate in Node, a MessageChannel in browsers and workers (no 4 ms
 * clamp as with nested setTimeout), setTimeout otherwise.
 */
export function nextMacrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown }
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate
    return new Promise((resolve) => void setImmediate(resolve))
  }
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel()
      channel.port1.onmessage = () => {
        channel.port1.close()
        resolve()
      }
      channel.port2.postMessage(null)
    })
  }
  return new Promise((resolve) => setTimeout(resolve, 0))
}
