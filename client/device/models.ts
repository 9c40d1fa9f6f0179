// Models by content hash: downloaded once, checked against their name, kept where the device
// keeps them (a phone: IndexedDB; a simulated device: memory).
import type { Assignment } from '../../shared/protocol/index.ts'
import { decodeContainer, type NamedTensor, sha256Hex } from '../../shared/tensors/index.ts'
import type { DeviceHttp } from './http.ts'

/** Where a device keeps downloaded models by hash across restarts (a phone: IndexedDB). */
export interface ModelStore {
  get(hash: string): Promise<Uint8Array | undefined>
  put(hash: string, bytes: Uint8Array, taskId: string): Promise<void>
}

/** The bytes of a model do not hash to its name: a damaged download, or a bad cache. */
export class ModelDamagedError extends Error {
  override name = 'ModelDamagedError'
  constructor(
    readonly hash: string,
    readonly actual: string,
  ) {
    super(`model ${hash}: the download hashes to ${actual}`)
  }
}

/** A model as the coordinator names it: its hash, and where to download it. */
export interface ModelRef {
  hash: string
  url: string
}

/**
 * Downloads a model and checks it is the one named: content-addressed, so bytes that do not
 * hash to the name are not the model. A refusal throws a `ProtocolError`, a mismatch a
 * `ModelDamagedError`, a network failure what fetch threw.
 */
export async function downloadModel(
  http: DeviceHttp,
  { hash, url }: ModelRef,
): Promise<Uint8Array> {
  const bytes = await http.bytes(url, `model ${hash}`)
  const actual = await sha256Hex(bytes)
  if (actual !== hash) throw new ModelDamagedError(hash, actual)
  return bytes
}

/** Keeps models in memory, for a device that keeps nothing across restarts. */
export function memoryModelStore(): ModelStore & { readonly size: number } {
  const models = new Map<string, Uint8Array>()
  return {
    get: (hash) => Promise.resolve(models.get(hash)),
    put(hash, bytes) {
      models.set(hash, bytes)
      return Promise.resolve()
    },
    get size() {
      return models.size
    },
  }
}

/** An assignment's model weights: the current one decoded in memory, else stored, else downloaded. */
export type ModelSource = (assignment: Assignment) => Promise<NamedTensor[]>

export function modelSource({
  http,
  store,
}: {
  http: DeviceHttp
  /** Keeps downloaded bytes across restarts; without it, only the current model, in memory. */
  store?: ModelStore
}): ModelSource {
  let current: { hash: string; weights: NamedTensor[] } | undefined
  return async (assignment) => {
    const { hash } = assignment.model
    if (current?.hash === hash) return current.weights
    let bytes = await store?.get(hash)
    if (!bytes) {
      bytes = await downloadModel(http, assignment.model)
      await store?.put(hash, bytes, assignment.taskId)
    }
    // Only the current model is worth keeping decoded.
    current = { hash, weights: decodeContainer(bytes).tensors }
    return current.weights
  }
}
