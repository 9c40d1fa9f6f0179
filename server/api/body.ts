import { BodyTooLarge } from '../rounds/scheduler.ts'

/**
 * Reads a request body up to `limit` bytes. Refuses at once when Content-Length says it is too
 * big, and stops reading as soon as it grows past the limit. A body cut off mid-way rejects.
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) throw new BodyTooLarge()
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.length
    if (length > limit) {
      await reader.cancel()
      throw new BodyTooLarge()
    }
    chunks.push(value)
  }
  if (Number.isFinite(declared) && declared !== length)
    throw new Error('body shorter than its Content-Length')
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}
