import { bodyLimit } from 'hono/body-limit'
import { PollenError } from '../errors.ts'
import { BodyTooLarge } from '../rounds/scheduler.ts'

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
        413,
        'payload_too_large',
        `${what} are at most ${sizeInWords(maxSize)} (${maxSize} bytes)`,
        '(body)',
      )
    },
  })

/**
 * Reads a request body up to `limit` bytes. Refuses at once when Content-Length says it is too
 * big, and stops reading as soon as it grows past the limit. A body cut off mid-way (or longer
 * or shorter than it said) is an `incomplete_body` error: the caller records nothing.
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  try {
    return await read(request, limit)
  } catch (error) {
    if (error instanceof BodyTooLarge) throw error
    throw new PollenError(
      400,
      'incomplete_body',
      `the body was cut off or malformed: ${String(error)}`,
      '(body)',
    )
  }
}

async function read(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) throw new BodyTooLarge()
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  // One buffer of the declared size when there is one; chunks otherwise.
  const known = Number.isFinite(declared) ? new Uint8Array(declared) : undefined
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (length + value.length > limit || (known && length + value.length > known.length)) {
      await reader.cancel()
      if (length + value.length > limit) throw new BodyTooLarge()
      throw new Error('body longer than its Content-Length')
    }
    if (known) known.set(value, length)
    else chunks.push(value)
    length += value.length
  }
  if (known) {
    if (length !== known.length) throw new Error('body shorter than its Content-Length')
    return known
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}
