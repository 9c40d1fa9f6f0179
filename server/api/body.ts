import { Readable } from 'node:stream'
import { bodyLimit } from 'hono/body-limit'
import { PollenError } from '../errors.ts'
import { TOO_LARGE } from '../rounds/index.ts'
import type { BodyPool } from './body-pool.ts'
import { BodyTooLarge, bodySink, bodyWatchdog, readNode, readWeb } from './body-stream.ts'

export { BodyTooLarge } from './body-stream.ts'

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

/**
 * The Node request stream under a Hono context's `env`, where @hono/node-server serves it
 * (`c.env.incoming`); undefined elsewhere (app.request in tests, other runtimes).
 */
export function nodeRequest(env: unknown): Readable | undefined {
  const incoming: unknown =
    typeof env === 'object' && env !== null ? (env as { incoming?: unknown }).incoming : undefined
  return incoming instanceof Readable ? incoming : undefined
}

/** readLimited in the round engine's terms: a body past `limit` is TOO_LARGE, not an error. */
export async function readUpdateBody(
  request: Request,
  limit: number,
  timeouts?: BodyTimeouts,
  node?: Readable,
  pool?: BodyPool,
): Promise<Uint8Array | typeof TOO_LARGE> {
  try {
    return await readLimited(request, limit, timeouts, node, pool)
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
 * `timeouts` a 408 `body_timeout`: the caller records nothing. Memory is at most `limit`: nothing
 * is held before the first byte arrives, then at most the declared length (already checked
 * against `limit`), or what arrived when no length was declared; it is dropped as soon as
 * reading stops.
 */
export async function readLimited(
  request: Request,
  limit: number,
  timeouts: BodyTimeouts = DEFAULT_BODY_TIMEOUTS,
  /** Node's request stream behind `request`, where there is one: read straight from it. */
  node?: Readable,
  /** Where a large body's buffer comes from: one given back by an earlier upload. */
  pool?: BodyPool,
): Promise<Uint8Array> {
  try {
    return await read(request, limit, timeouts, node, pool)
  } catch (error) {
    if (error instanceof BodyTooLarge || error instanceof PollenError) throw error
    throw new PollenError(
      'incomplete_body',
      `the body was cut off or malformed: ${String(error)}`,
      '(body)',
    )
  }
}

async function read(
  request: Request,
  limit: number,
  timeouts: BodyTimeouts,
  node: Readable | undefined,
  pool: BodyPool | undefined,
): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) throw new BodyTooLarge()
  if (!node && !request.body) return new Uint8Array(0)
  const expected = Number.isFinite(declared) ? declared : limit
  const total = timeouts.graceMs + (1000 * expected) / timeouts.minBytesPerSecond
  const sink = bodySink(limit, declared, pool && ((length) => pool.take(length, limit)))
  const watchdog = bodyWatchdog(
    timeouts,
    total,
    () => `${sink.length} of ${expected} bytes arrived`,
  )
  try {
    if (node) await readNode(node, sink, watchdog)
    else await readWeb(request.body!, sink, watchdog)
  } finally {
    watchdog.stop()
  }
  return sink.bytes()
}
