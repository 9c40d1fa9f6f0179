import { bodyLimit } from 'hono/body-limit'
import { PollenError } from '../errors.ts'
import { TOO_LARGE } from '../rounds/index.ts'

/** The body grew past the limit while being read. */
export class BodyTooLarge extends Error {}

/** `bytes` in words: 32 MiB, 64 KiB, 100 bytes. */
export function sizeInWords(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}

/**
 * Refuses a body past `maxSize` bytes with a 413 that says the limit: at once when its
 * Content-Length says so, else as soon as reading passes it (nothing past it is read).
 */
export const limitBody = (maxSize: number, what: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new PollenError(
        'payload_too_large',
        `${what} are at most ${sizeInWords(maxSize)} (${maxSize} bytes)`,
        '(body)',
      )
    },
  })

/** readLimited in the round engine's terms: a body past `limit` is TOO_LARGE, not an error. */
export async function readUpdateBody(
  request: Request,
  limit: number,
  timeouts?: BodyTimeouts,
): Promise<Uint8Array | typeof TOO_LARGE> {
  try {
    return await readLimited(request, limit, timeouts)
  } catch (error) {
    if (error instanceof BodyTooLarge) return TOO_LARGE
    throw error
  }
}

/** How long a body may take to arrive: a stalled or trickling body is cut off. */
export interface BodyTimeouts {
  /** Cut off after this long without a byte. */
  idleMs: number
  /** Cut off after this long in all: `graceMs` plus the body's length at `minBytesPerSecond`. */
  graceMs: number
  minBytesPerSecond: number
}

/**
 * A phone on a slow network still makes it: a synet update (862 kB) at 100 kB/s takes 9 s, and
 * at these bounds a body of that size may take 60 s + 862 kB / 8 KiB/s ≈ 165 s, with up to 30 s
 * without a byte.
 */
export const DEFAULT_BODY_TIMEOUTS: BodyTimeouts = {
  idleMs: 30_000,
  graceMs: 60_000,
  minBytesPerSecond: 8 * 1024,
}

/**
 * Reads a request body up to `limit` bytes. Refuses at once when Content-Length says it is too
 * big, and stops reading as soon as it grows past the limit. A body cut off mid-way (or longer
 * or shorter than it said) is an `incomplete_body` error, one that stalls or trickles past
 * `timeouts` a 408 `body_timeout`: the caller records nothing. Memory grows with the bytes that
 * arrived, never with what the header declared, and is dropped as soon as reading stops.
 */
export async function readLimited(
  request: Request,
  limit: number,
  timeouts: BodyTimeouts = DEFAULT_BODY_TIMEOUTS,
): Promise<Uint8Array> {
  try {
    return await read(request, limit, timeouts)
  } catch (error) {
    if (error instanceof BodyTooLarge || error instanceof PollenError) throw error
    throw new PollenError(
      'incomplete_body',
      `the body was cut off or malformed: ${String(error)}`,
      '(body)',
    )
  }
}

async function read(request: Request, limit: number, timeouts: BodyTimeouts): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) throw new BodyTooLarge()
  if (!request.body) return new Uint8Array(0)
  const expected = Number.isFinite(declared) ? declared : limit
  const total = timeouts.graceMs + (1000 * expected) / timeouts.minBytesPerSecond
  const deadline = Date.now() + total
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  try {
    for (;;) {
      const wait = Math.min(timeouts.idleMs, deadline - Date.now())
      const next = await within(reader.read(), wait)
      if (next === undefined) {
        const idle = wait === timeouts.idleMs
        throw new PollenError(
          'body_timeout',
          idle
            ? `no byte of the body arrived for ${timeouts.idleMs / 1000} s`
            : `the body took longer than ${(total / 1000).toFixed(1)} s (${length} of ${expected} bytes arrived)`,
          '(body)',
        )
      }
      const { done, value } = next
      if (done) break
      if (length + value.length > limit) throw new BodyTooLarge()
      if (Number.isFinite(declared) && length + value.length > declared)
        throw new Error('body longer than its Content-Length')
      chunks.push(value)
      length += value.length
    }
  } catch (error) {
    // Stop reading: the coordinator answers, and the server drains or closes the connection.
    reader.releaseLock()
    throw error
  }
  if (Number.isFinite(declared) && length !== declared)
    throw new Error('body shorter than its Content-Length')
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

/** `promise`'s value, or undefined when `ms` pass first. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController()
  const timeout = new Promise<undefined>((resolve) => {
    const id = setTimeout(resolve, Math.max(0, ms))
    timer.signal.addEventListener('abort', () => clearTimeout(id))
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    timer.abort()
  }
}
