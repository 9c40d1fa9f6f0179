// Models by content hash: downloaded once, checked against their name, kept where the device
// keeps them (a phone: IndexedDB; a simulated device: memory). Where a task serves them, a model
// comes as float16 or as a delta from the one the device last got whole, its base (issue 18):
// the base is kept, never a model rebuilt from a delta, so the error stays one int8 step.
import type { Assignment, DownloadEncoding } from '../../shared/protocol/index.ts'
import {
  applyDownload,
  decodeContainer,
  decodeContainerHeader,
  type ModelBase,
  type NamedTensor,
  SHA256_HEX,
  sha256Hex,
} from '../../shared/tensors/index.ts'
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

/**
 * Which encoding to ask a model in, of those the task serves (float32 always among them):
 * `delta` asks a delta from the model held whole, or the whole model (as float16 where served)
 * when none is held.
 */
export type ChooseEncoding = (served: readonly DownloadEncoding[]) => DownloadEncoding

/** A delta wherever the task serves one, else float32. */
export const deltaWhereServed: ChooseEncoding = (served) =>
  served.includes('delta') ? 'delta' : 'float32'

/** The ModelStore key of a task's base: the model last got whole, as its container's bytes. */
export const baseKey = (taskId: string) => `${BASE_PREFIX}${taskId}`
export const BASE_PREFIX = 'base:'

/** A model that came over the network: its bytes as sent, and the encoding they were in. */
export interface ModelDownload {
  taskId: string
  hash: string
  bytes: number
  encoding: DownloadEncoding
}

interface Base {
  ref: ModelBase
  weights: NamedTensor[]
}

export function modelSource({
  http,
  store,
  choose = deltaWhereServed,
  onDownload,
}: {
  http: DeviceHttp
  /**
   * Keeps downloaded bytes across restarts, and each task's base (`baseKey`); without it, only
   * the current model and the bases, in memory.
   */
  store?: ModelStore
  /** The encoding to ask for (default: a delta where the task serves one, else float32). */
  choose?: ChooseEncoding
  /** Told of each model downloaded (none for one held): a phone's History shows it. */
  onDownload?: (download: ModelDownload) => void
}): ModelSource {
  let current: { hash: string; weights: NamedTensor[] } | undefined
  const bases = new Map<string, Base>()

  /**
   * The task's base, from memory or the store (a reload); undefined where none is kept, or what
   * is kept does not read as one (the next model then comes whole, and is the new base).
   */
  async function baseOf(taskId: string): Promise<Base | undefined> {
    const known = bases.get(taskId)
    if (known) return known
    const bytes = await store?.get(baseKey(taskId))
    if (!bytes) return undefined
    let container: ReturnType<typeof decodeContainer>
    try {
      container = decodeContainer(bytes)
    } catch {
      return undefined
    }
    const { codec, tensors, metadata } = container
    const hash = codec === 'float16' ? metadata.model : await sha256Hex(bytes)
    if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) return undefined
    if (codec !== 'float16' && codec !== 'float32') return undefined
    const base = { ref: { hash, encoding: codec }, weights: tensors }
    bases.set(taskId, base)
    return base
  }

  async function download(assignment: Assignment, base: Base | undefined) {
    const { hash, url } = assignment.model
    const served = assignment.compression?.downloads ?? ['float32']
    const choice = choose(served)
    const query =
      choice === 'delta' && base
        ? `encoding=delta&from=${base.ref.hash}&fromEncoding=${base.ref.encoding}`
        : choice === 'float32'
          ? ''
          : 'encoding=float16'
    const bytes = await http.bytes(query ? `${url}?${query}` : url, `model ${hash}`)
    const told = (encoding: DownloadEncoding) =>
      onDownload?.({ taskId: assignment.taskId, hash, bytes: bytes.length, encoding })
    // The container says what came (the server falls back to float32, bytes checked by hash).
    if (decodeContainerHeader(bytes).codec === 'float32') {
      const actual = await sha256Hex(bytes)
      if (actual !== hash) throw new ModelDamagedError(hash, actual)
      const weights = decodeContainer(bytes).tensors
      told('float32')
      // Kept once: as the base where deltas may come, else by its hash.
      if (served.includes('delta'))
        return { weights, base: { ref: { hash, encoding: 'float32' as const }, weights }, bytes }
      await store?.put(hash, bytes, assignment.taskId)
      return { weights }
    }
    const { encoding, weights } = applyDownload(bytes, hash, base)
    told(encoding)
    if (encoding === 'delta') return { weights }
    return { weights, base: { ref: { hash, encoding }, weights }, bytes }
  }

  return async (assignment) => {
    const { hash } = assignment.model
    if (current?.hash === hash) return current.weights
    const stored = await store?.get(hash)
    const base = stored ? undefined : await baseOf(assignment.taskId)
    let weights = stored ? decodeContainer(stored).tensors : undefined
    // A model held whole as float16 is what the phone trains on: resumed after a reload too.
    if (!weights && base?.ref.hash === hash) weights = base.weights
    if (!weights) {
      const got = await download(assignment, base)
      weights = got.weights
      if (got.base) {
        bases.set(assignment.taskId, got.base)
        await store?.put(baseKey(assignment.taskId), got.bytes, assignment.taskId)
      }
    }
    // Only the current model is worth keeping decoded.
    current = { hash, weights }
    return weights
  }
}
