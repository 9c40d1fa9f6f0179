// Reading a request body into one buffer, from a web ReadableStream or straight from Node's
// IncomingMessage, under a watchdog. body.ts holds the policy (limits, timeouts, errors); this
// holds the mechanics, which decide how fast a 4.8 MB update comes in (docs/BENCHMARKS.md,
// "Coordinator: streaming aggregation").
import type { Readable } from 'node:stream'
import { PollenError } from '../errors.ts'

/** The body grew past the limit while being read. */
export class BodyTooLarge extends Error {}

/** Where a body's chunks go: checked against the limit and the declared length as they come. */
export interface BodySink {
  /** Takes a chunk (copied); throws BodyTooLarge past the limit, an Error past the declared length. */
  add(chunk: Uint8Array): void
  readonly length: number
  /** The whole body; throws when it is shorter than it declared. */
  bytes(): Uint8Array
}

/**
 * With a declared length (at most `limit`, as the caller checked) the body is copied chunk by
 * chunk into one buffer of that length, allocated when its first byte arrives: no second copy,
 * and the chunks die young. Without one, chunks are kept and joined at the end. Either way a body
 * holds at most `limit` bytes, the bound the upload gate counts on (uploads.ts).
 */
export function bodySink(
  limit: number,
  declared: number,
  /** Where the buffer of a declared length comes from (a BodyPool's take, or a fresh one). */
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): BodySink {
  const sized = Number.isSafeInteger(declared) && declared >= 0 && declared <= limit
  let buffer: Uint8Array | null = null
  const chunks: Uint8Array[] = []
  let length = 0
  return {
    add(chunk) {
      if (length + chunk.length > limit) throw new BodyTooLarge()
      if (Number.isFinite(declared) && length + chunk.length > declared)
        throw new Error('body longer than its Content-Length')
      if (sized) (buffer ??= allocate(declared)).set(chunk, length)
      else chunks.push(chunk)
      length += chunk.length
    },
    get length() {
      return length
    },
    bytes() {
      if (Number.isFinite(declared) && length !== declared)
        throw new Error('body shorter than its Content-Length')
      if (sized) return buffer ?? new Uint8Array(0)
      return Buffer.concat(chunks, length)
    },
  }
}

export interface Watchdog {
  /** Rejects with a 408 `body_timeout` once the body is idle or late; never resolves. */
  expired: Promise<never>
  /** Marks that bytes arrived. */
  arrived(): void
  stop(): void
}

/**
 * One watch for the whole body rather than a timer per chunk: a 4.8 MB update arrives in about
 * 75 chunks, and a timer, an AbortController and its DOMException per chunk cost more than
 * copying the bytes. Expires once no byte arrived for `idleMs`, or after `totalMs` in all.
 */
export function bodyWatchdog(
  { idleMs }: { idleMs: number },
  totalMs: number,
  progress: () => string,
): Watchdog {
  const deadline = Date.now() + totalMs
  let last = Date.now()
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const expired = new Promise<never>((_, reject) => {
    const check = () => {
      if (stopped) return
      const now = Date.now()
      if (now - last >= idleMs)
        reject(
          new PollenError(
            'body_timeout',
            `no byte of the body arrived for ${idleMs / 1000} s`,
            '(body)',
          ),
        )
      else if (now >= deadline)
        reject(
          new PollenError(
            'body_timeout',
            `the body took longer than ${(totalMs / 1000).toFixed(1)} s (${progress()})`,
            '(body)',
          ),
        )
      else timer = setTimeout(check, Math.min(last + idleMs, deadline) - now)
    }
    timer = setTimeout(check, Math.min(idleMs, totalMs))
  })
  // Once the body is read nobody awaits it: its rejection then is no unhandled one.
  expired.catch(() => {})
  return {
    expired,
    arrived() {
      last = Date.now()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}

/** Reads a web stream into `sink` until it ends, the sink refuses a chunk, or time is up. */
export async function readWeb(
  body: ReadableStream<Uint8Array>,
  sink: BodySink,
  watchdog: Watchdog,
): Promise<void> {
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), watchdog.expired])
      if (done) return
      watchdog.arrived()
      sink.add(value)
    }
  } catch (error) {
    // Stop reading: the coordinator answers, and the server drains or closes the connection.
    reader.releaseLock()
    throw error
  }
}

/**
 * Reads Node's request stream into `sink`: each chunk is copied once, into the sink, where
 * Readable.toWeb would copy it into a fresh Uint8Array first and pause and resume the socket
 * for every one. On refusal or timeout the stream is paused and left to the server, which drains
 * or closes the connection once the answer is sent.
 */
export function readNode(stream: Readable, sink: BodySink, watchdog: Watchdog): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false
    const finish = (error?: unknown) => {
      if (settled) return
      settled = true
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
      if (error === undefined) resolve()
      else {
        stream.pause()
        reject(error instanceof Error ? error : new Error('the request stream failed'))
      }
    }
    const onData = (chunk: Uint8Array | string) => {
      watchdog.arrived()
      try {
        if (typeof chunk === 'string') throw new Error('the request stream gives text, not bytes')
        sink.add(chunk)
      } catch (error) {
        finish(error)
      }
    }
    const onEnd = () => finish()
    const onError = (error: unknown) => finish(error)
    const onClose = () => finish(new Error('the connection closed before the body ended'))
    watchdog.expired.catch(finish)
    if (stream.readableEnded) return finish()
    if (stream.destroyed) return finish(new Error('the connection closed before the body ended'))
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
    stream.once('close', onClose)
  })
}
