// GET /api/v1/models/:hash?encoding=…: a model as float16, or as an int8 delta from a model the
// phone holds whole, else its float32 bytes (docs/PROTOCOL.md, "Download the model"). Encodings
// are deterministic, so the recent ones are kept in a small LRU and share one computation.
import { DOWNLOAD_ENCODINGS, type DownloadEncoding } from '../../shared/protocol/index.ts'
import {
  baseWeights,
  ContainerError,
  decodeContainer,
  encodeDeltaModel,
  encodeFloat16Model,
  type ModelBase,
  sameLayout,
  SHA256_HEX,
} from '../../shared/tensors/index.ts'
import type { Context } from 'hono'
import type { BlobStore } from '../blobs/index.ts'
import { PollenError } from '../errors.ts'
import type { Scheduler } from '../rounds/index.ts'
import type { DeviceEnv } from './auth.ts'

/** What a download asks for: an encoding, and for a delta the model held whole. */
export type DownloadRequest =
  { encoding: 'float32' | 'float16' } | { encoding: 'delta'; from: ModelBase }

const BASE_ENCODINGS = ['float32', 'float16'] as const

const refuse = (field: string, why: string): never => {
  throw new PollenError('invalid_request', `${field} ${why}`, field)
}
const shown = (text: string) => JSON.stringify(text.slice(0, 80))

/**
 * The query of a model download: none is the float32 model (the old URL); `encoding` one of
 * DOWNLOAD_ENCODINGS; `from` (a sha256) and `fromEncoding` (float32, the default, or float16)
 * with `encoding=delta` only, each at most once. Anything else is a 400 naming the query field.
 */
export function downloadRequest(
  queries: (name: string) => readonly string[] | undefined,
): DownloadRequest {
  // Given twice, a field is ambiguous (`?encoding=float16&encoding=delta`): refused, not a guess.
  const query = (name: string) => {
    const values = queries(name)
    if (values && values.length > 1) refuse(name, `is given ${values.length} times; give it once`)
    return values?.[0]
  }
  const encoding = query('encoding')
  const from = query('from')
  const fromEncoding = query('fromEncoding')
  if (encoding !== undefined && !(DOWNLOAD_ENCODINGS as readonly string[]).includes(encoding))
    refuse('encoding', `must be one of ${DOWNLOAD_ENCODINGS.join(', ')}, not ${shown(encoding)}`)
  if (encoding !== 'delta') {
    if (from !== undefined) refuse('from', 'is only asked with encoding=delta')
    if (fromEncoding !== undefined) refuse('fromEncoding', 'is only asked with encoding=delta')
    return { encoding: (encoding ?? 'float32') as 'float32' | 'float16' }
  }
  if (from === undefined || !SHA256_HEX.test(from))
    return refuse('from', `must name the model held, a sha256 hash, not ${shown(from ?? '')}`)
  if (fromEncoding !== undefined && !(BASE_ENCODINGS as readonly string[]).includes(fromEncoding))
    refuse('fromEncoding', `must be float32 or float16, not ${shown(fromEncoding)}`)
  return {
    encoding: 'delta',
    from: { hash: from, encoding: (fromEncoding ?? 'float32') as ModelBase['encoding'] },
  }
}

/**
 * The encodings served for model `hash`: those of every task whose current model it is (float32
 * alone for an older model, or one no task has now).
 */
export function servedEncodings(
  scheduler: Pick<Scheduler, 'listTasks'>,
  hash: string,
): DownloadEncoding[] {
  const tasks = scheduler.listTasks().filter((t) => t.model.hash === hash)
  return [...new Set(tasks.flatMap((t) => t.compression.downloads)), 'float32']
}

/** What is sent: the bytes, the encoding they are in, and their ETag. */
export interface ServedModel {
  bytes: Uint8Array
  encoding: DownloadEncoding
  etag: string
}

export interface ModelEncoderOptions {
  blobs: BlobStore
  /** Encodings kept at most, and their bytes at most, in the LRU. */
  cacheEntries?: number
  cacheBytes?: number
}

/**
 * Serves model `hash` (its float32 `bytes`, already read) as asked where `served` lists the
 * encoding, else falls back: a delta to float16 where served, else float32 (as the model's
 * own bytes). A delta falls back too when `from` is no model the coordinator holds, has another
 * layout, or the delta cannot be encoded; float16 when a weight is past a half's range.
 */
export function modelEncoder({
  blobs,
  cacheEntries = 16,
  cacheBytes = 64 * 1024 * 1024,
}: ModelEncoderOptions) {
  const cache = new Map<string, Promise<Uint8Array | null>>()
  const sizes = new Map<string, number>()
  let cachedBytes = 0

  function evict(key: string) {
    cache.delete(key)
    cachedBytes -= sizes.get(key) ?? 0
    sizes.delete(key)
  }
  /** The encoding under `key`, computed once while it stays among the recent. */
  function remembered(key: string, compute: () => Promise<Uint8Array | null>) {
    const hit = cache.get(key)
    if (hit) {
      cache.delete(key) // most recent last
      cache.set(key, hit)
      return hit
    }
    const pending = compute().then((bytes) => {
      if (cache.get(key) === pending) {
        sizes.set(key, bytes?.length ?? 0)
        cachedBytes += bytes?.length ?? 0
        for (const oldest of cache.keys())
          if (cachedBytes > cacheBytes && oldest !== key) evict(oldest)
      }
      return bytes
    })
    pending.catch(() => {
      if (cache.get(key) === pending) evict(key)
    })
    cache.set(key, pending)
    while (cache.size > cacheEntries) evict(cache.keys().next().value!)
    return pending
  }

  const decoded = (bytes: Uint8Array) => decodeContainer(bytes).tensors
  /** Null where the encoding cannot carry the model (a ContainerError): the caller falls back. */
  const orNull = <T>(encode: () => T): T | null => {
    try {
      return encode()
    } catch (error) {
      if (error instanceof ContainerError || error instanceof RangeError) return null
      throw error
    }
  }

  const float16 = (hash: string, bytes: Uint8Array) =>
    remembered(`${hash}.float16`, () =>
      Promise.resolve(orNull(() => encodeFloat16Model(decoded(bytes), hash))),
    )

  const delta = (hash: string, bytes: Uint8Array, from: ModelBase) =>
    remembered(`${hash}.delta.${from.hash}.${from.encoding}`, async () => {
      const held = await blobs.get(from.hash)
      if (!held) return null
      // Any blob may be named (a held-out set too): only a float32 model is a base.
      const base = orNull(() => decodeContainer(held))
      if (base?.codec !== 'float32') return null
      const model = decoded(bytes)
      const weights = orNull(() => baseWeights(base.tensors, from.encoding))
      if (!weights || !sameLayout(model, weights)) return null
      return orNull(() => encodeDeltaModel({ model, hash }, { weights, ref: from }))
    })

  return async function serve(
    hash: string,
    bytes: Uint8Array,
    request: DownloadRequest,
    served: readonly DownloadEncoding[],
  ): Promise<ServedModel> {
    if (request.encoding === 'delta' && served.includes('delta')) {
      const encoded = await delta(hash, bytes, request.from)
      const tag = `${hash}.delta.${request.from.hash}.${request.from.encoding}`
      if (encoded) return { bytes: encoded, encoding: 'delta', etag: `"${tag}"` }
    }
    if (request.encoding !== 'float32' && served.includes('float16')) {
      const encoded = await float16(hash, bytes)
      if (encoded) return { bytes: encoded, encoding: 'float16', etag: `"${hash}.float16"` }
    }
    return { bytes, encoding: 'float32', etag: `"${hash}"` }
  }
}

/**
 * Rounds back a delta's base may be: a phone whose base is older gets the model whole again
 * (float16 where served), which becomes its new base. So a delta's error, one int8 step of the
 * change since the base, is a step of at most this many rounds' change, and the bases one model
 * may be asked a delta from are few (2 per round), which bounds the deltas worth computing.
 */
export const DELTA_BASE_ROUNDS = 8

/**
 * The models a delta to `hash` may start from: the recent chain (each of the last
 * DELTA_BASE_ROUNDS rounds' base and committed model) of the tasks whose current model `hash`
 * is. Any other `from` would have the coordinator read and decode whatever blob a device names
 * (a held-out set, another task's model) and fill the encodings' cache with deltas no phone of
 * this task can hold; it falls back instead. Asked only for a model some task serves deltas of
 * now, so the hashes kept are the tasks' current models.
 */
function modelChains(scheduler: Pick<Scheduler, 'listTasks' | 'listRounds'>, keep = 64) {
  const chains = new Map<string, Promise<ReadonlySet<string>>>()
  return (hash: string): Promise<ReadonlySet<string>> => {
    let chain = chains.get(hash)
    if (!chain) {
      const tasks = scheduler.listTasks().filter((t) => t.model.hash === hash)
      chain = Promise.all(tasks.map((t) => scheduler.listRounds(t.id))).then(
        (rounds) =>
          new Set(
            rounds.flatMap((task) =>
              [...task]
                .sort((a, b) => b.round - a.round)
                .slice(0, DELTA_BASE_ROUNDS)
                .flatMap((r) => (r.model ? [r.baseModel, r.model] : [r.baseModel])),
            ),
          ),
      )
      chain.catch(() => chains.delete(hash))
      chains.set(hash, chain)
      if (chains.size > keep) chains.delete(chains.keys().next().value!)
    }
    return chain
  }
}

/** The handler of GET /models/:hash, after its authorisation. */
export function modelDownloads({
  scheduler,
  blobs,
}: {
  scheduler: Pick<Scheduler, 'listTasks' | 'listRounds' | 'downloaded'>
  blobs: BlobStore
}) {
  const encoded = modelEncoder({ blobs })
  const chainOf = modelChains(scheduler)
  return async (c: Context<DeviceEnv, '/models/:hash'>) => {
    const hash = c.req.param('hash')
    if (!SHA256_HEX.test(hash))
      throw new PollenError('invalid_request', 'not a sha256 hash', 'hash')
    let request = downloadRequest((name) => c.req.queries(name))
    const servedHere = servedEncodings(scheduler, hash)
    if (
      request.encoding === 'delta' &&
      servedHere.includes('delta') &&
      !(await chainOf(hash)).has(request.from.hash)
    )
      request = { encoding: 'float16' }
    // The old URL, byte for byte as ever: a 304 without reading the blob.
    if (request.encoding === 'float32' && c.req.header('if-none-match') === `"${hash}"`) {
      c.header('ETag', `"${hash}"`)
      c.header('Cache-Control', 'private, max-age=31536000, immutable')
      if (await blobs.has(hash)) return c.body(null, 304)
    }
    const bytes = await blobs.get(hash)
    if (!bytes) throw new PollenError('not_found', `no model ${hash}`, 'hash')
    const served = await encoded(hash, bytes, request, servedHere)
    c.header('ETag', served.etag)
    c.header('Cache-Control', 'private, max-age=31536000, immutable')
    // Any query says what was sent; the old URL's headers stay as they were.
    if (new URL(c.req.url).search) c.header('X-Pollen-Encoding', served.encoding)
    if (c.req.header('if-none-match') === served.etag) return c.body(null, 304)
    const device = c.get('device') as DeviceEnv['Variables']['device'] | undefined
    if (device) scheduler.downloaded(device, hash, served.bytes.length, served.encoding)
    c.header('Content-Type', 'application/octet-stream')
    return c.body(served.bytes as Uint8Array<ArrayBuffer>)
  }
}
