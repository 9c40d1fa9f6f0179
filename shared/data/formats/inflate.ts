import { Gunzip, Inflate, Unzlib } from 'fflate'
import { count } from './problems.ts'

/**
 * Decompression that never trusts a declared size: the output is counted as it is produced and
 * the stream is abandoned the moment it passes the budget, so a gzip or zip bomb costs at most
 * the budget plus one chunk's expansion (deflate's worst ratio is about 1032:1, so a 32 KiB
 * chunk expands to at most ~33 MiB).
 */
const CHUNK = 32 * 1024

/** Bytes still allowed to come out of decompression, shared by all the files of one upload. */
export class ByteBudget {
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`byte budget must be a non-negative integer, got ${limit}`)
    }
  }
  used = 0
  get left(): number {
    return this.limit - this.used
  }
  /** Counts n bytes; false when that passes the limit. */
  take(n: number): boolean {
    this.used += n
    return this.used <= this.limit
  }
}

export type InflateOutcome =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: 'over-budget' | 'corrupt'; message: string }

class OverBudget extends Error {}

export const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b

/** gunzip `bytes` within `budget`. */
export const gunzipLimited = (bytes: Uint8Array, budget: ByteBudget): InflateOutcome =>
  run(bytes, budget, (ondata) => new Gunzip(ondata))

/** Raw DEFLATE (a zip entry's data) within `budget`. */
export const inflateLimited = (bytes: Uint8Array, budget: ByteBudget): InflateOutcome =>
  run(bytes, budget, (ondata) => new Inflate(ondata))

/** A zlib stream (a PNG's image data) within `budget`. */
export const unzlibLimited = (bytes: Uint8Array, budget: ByteBudget): InflateOutcome =>
  run(bytes, budget, (ondata) => new Unzlib(ondata))

function run(
  bytes: Uint8Array,
  budget: ByteBudget,
  open: (ondata: (chunk: Uint8Array, final: boolean) => void) => {
    push(chunk: Uint8Array, final?: boolean): void
  },
): InflateOutcome {
  const chunks: Uint8Array[] = []
  let total = 0
  let ended = false
  const stream = open((chunk, final) => {
    if (!budget.take(chunk.length)) throw new OverBudget()
    chunks.push(chunk)
    total += chunk.length
    if (final) ended = true
  })
  try {
    if (bytes.length === 0) stream.push(bytes, true)
    for (let at = 0; at < bytes.length; at += CHUNK) {
      const end = Math.min(at + CHUNK, bytes.length)
      stream.push(bytes.subarray(at, end), end === bytes.length)
    }
  } catch (e) {
    if (e instanceof OverBudget) {
      return {
        ok: false,
        reason: 'over-budget',
        message: `expands beyond the limit of ${count(budget.limit)} bytes`,
      }
    }
    return { ok: false, reason: 'corrupt', message: `corrupt compressed data (${errorText(e)})` }
  }
  if (!ended) return { ok: false, reason: 'corrupt', message: 'compressed data ends early' }
  return { ok: true, bytes: concat(chunks, total) }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))
