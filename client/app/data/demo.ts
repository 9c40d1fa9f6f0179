import {
  decodeMnist,
  type Digits,
  labelHistogram,
  NUM_LABELS,
  MnistFormatError,
  mulberry32,
  randomInt,
  randomSeed,
  shardIid,
  shardNonIid,
} from '../../../shared/data/index.ts'
import { DATA_CACHE, DEMO_DATA_PATH, evictCached } from '../pwa/caches.ts'
import { type DemoSetting, type PollenDatabase, replaceExamples } from '../storage/index.ts'

/** The dataset name the demo digits are stored under (what an MNIST task asks for). */
export const DEMO_DATASET = 'mnist'
/** The demo shard is one of this many: a tenth of the training split. */
export const DEMO_SHARDS = 10
/** More than this is not the demo file (it is about 7.9 MB). */
export const DEMO_MAX_BYTES = 32 * 1024 * 1024

export type DemoKind = DemoSetting['kind']
export const DEMO_KINDS = ['iid', 'two-digits'] as const satisfies readonly DemoKind[]

export type DemoDataErrorCode = 'network' | 'http' | 'too-large' | 'corrupt' | 'storage'

/** Why loading the demo digits failed; `message` is written for the phone's owner. */
export class DemoDataError extends Error {
  override name = 'DemoDataError'
  constructor(
    readonly code: DemoDataErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface FetchOptions {
  url?: string
  fetch?: typeof globalThis.fetch
  maxBytes?: number
  /** Bytes so far and the total when the server said it. */
  onProgress?: (loaded: number, total: number | null) => void
}

/** Downloads the MNIST file, refusing anything larger than `maxBytes`. */
export async function fetchDemoFile({
  url = DEMO_DATA_PATH,
  fetch = globalThis.fetch,
  maxBytes = DEMO_MAX_BYTES,
  onProgress,
}: FetchOptions = {}): Promise<Uint8Array> {
  let response: Response
  try {
    response = await fetch(url)
  } catch (cause) {
    throw new DemoDataError(
      'network',
      'Could not download the demo digits: there is no connection to the server. ' +
        'Try again when you are online.',
      { cause },
    )
  }
  if (!response.ok) {
    throw new DemoDataError(
      'http',
      `Could not download the demo digits: the server answered ${response.status}` +
        `${response.statusText ? ` ${response.statusText}` : ''}.`,
    )
  }
  const declared = Number(response.headers.get('content-length'))
  const total = Number.isFinite(declared) && declared > 0 ? declared : null
  const tooLarge = () =>
    new DemoDataError(
      'too-large',
      `The demo data file is larger than ${Math.round(maxBytes / 1e6)} MB: it is not the file ` +
        'Pollen expects.',
    )
  if (total !== null && total > maxBytes) throw tooLarge()
  if (!response.body) return new Uint8Array(await response.arrayBuffer())
  const chunks: Uint8Array[] = []
  let loaded = 0
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      loaded += value.length
      if (loaded > maxBytes) {
        await reader.cancel()
        throw tooLarge()
      }
      chunks.push(value)
      onProgress?.(loaded, total)
    }
  } catch (cause) {
    if (cause instanceof DemoDataError) throw cause
    throw new DemoDataError('network', 'The download of the demo digits was cut off. Try again.', {
      cause,
    })
  }
  const bytes = new Uint8Array(loaded)
  let at = 0
  for (const c of chunks) {
    bytes.set(c, at)
    at += c.length
  }
  return bytes
}

/**
 * The shard a demo phone keeps, from the training split: `iid` is a random tenth;
 * `two-digits` is one client's share of a pathological non-IID split into ten (two label
 * shards each, McMahan et al. 2017), picked with the same seed.
 */
export function pickDemoShard(train: Digits, kind: DemoKind, seed: number): Digits {
  const pick = randomInt(mulberry32(seed ^ 0x5eed), DEMO_SHARDS)
  const shards =
    kind === 'iid'
      ? shardIid(train, DEMO_SHARDS, seed)
      : shardNonIid(train, DEMO_SHARDS, { labelsPerClient: 2, seed })
  return shards[pick]!
}

export interface LoadDemoOptions extends FetchOptions {
  kind: DemoKind
  seed?: number
  now?: number
}

/**
 * "Load demo data": download, check and shard the digits, then replace the stored demo
 * digits in one transaction. Any failure leaves what was stored as it was.
 */
export async function loadDemoData(
  db: PollenDatabase,
  { kind, seed = randomSeed(), now = Date.now(), ...fetchOptions }: LoadDemoOptions,
): Promise<DemoSetting> {
  const url = fetchOptions.url ?? DEMO_DATA_PATH
  const bytes = await fetchDemoFile({ ...fetchOptions, url })
  let train: Digits
  try {
    train = decodeMnist(bytes).train
  } catch (cause) {
    if (!(cause instanceof MnistFormatError)) throw cause
    // The service worker keeps this file CacheFirst: forget a bad copy so a retry refetches.
    await evictCached(DATA_CACHE, url)
    throw new DemoDataError(
      'corrupt',
      `The demo data file is damaged (${cause.message.replace(/^mnist\.bin: /, '')}). ` +
        'Nothing stored on this phone was changed.',
      { cause },
    )
  }
  const shard = pickDemoShard(train, kind, seed)
  const setting: DemoSetting = {
    key: 'demo',
    dataset: DEMO_DATASET,
    kind,
    seed,
    count: shard.count,
    labels: labelHistogram(shard, NUM_LABELS).flatMap((n, label) => (n > 0 ? [label] : [])),
    loadedAt: now,
  }
  try {
    await replaceExamples(db, {
      dataset: DEMO_DATASET,
      source: 'demo',
      examples: shard,
      setting,
      now,
    })
  } catch (cause) {
    const quota = cause instanceof DOMException && cause.name === 'QuotaExceededError'
    throw new DemoDataError(
      'storage',
      (quota
        ? 'There is not enough storage space on this phone for the demo digits.'
        : `The demo digits could not be stored (${errorText(cause)}).`) +
        ' Nothing stored on this phone was changed.',
      { cause },
    )
  }
  return setting
}

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message || error.name : String(error)
