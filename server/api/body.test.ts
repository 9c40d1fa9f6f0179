import { describe, expect, it } from 'vitest'
import { PollenError } from '../errors.ts'
import { TOO_LARGE } from '../rounds/index.ts'
import { BodyTooLarge, readLimited, readUpdateBody } from './body.ts'

/** A request whose body arrives in `chunks`, one every `everyMs`; then ends, or stalls. */
function request(chunks: Uint8Array[], { everyMs = 0, stall = false, length = NaN } = {}) {
  let i = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((r) => setTimeout(r, everyMs))
      if (i < chunks.length) controller.enqueue(chunks[i++])
      else if (!stall) controller.close()
      else await new Promise(() => {})
    },
  })
  return new Request('http://x/', {
    method: 'POST',
    body,
    duplex: 'half',
    headers: Number.isFinite(length) ? { 'content-length': String(length) } : {},
  } as RequestInit)
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill)
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

describe('readLimited', () => {
  const timeouts = { idleMs: 300, graceMs: 200, minBytesPerSecond: 1000 }

  it('reads a body whole, with or without a length', async () => {
    const chunks = [bytes(3, 1), bytes(4, 2)]
    for (const length of [7, NaN]) {
      const got = await readLimited(request(chunks, { length }), 100, timeouts)
      expect(Array.from(got)).toEqual([1, 1, 1, 2, 2, 2, 2])
    }
  })

  it("tells the round engine a body is too large in the engine's terms", async () => {
    expect(await readUpdateBody(request([bytes(60), bytes(60)]), 100, timeouts)).toBe(TOO_LARGE)
    const got = await readUpdateBody(request([bytes(3, 1)], { length: 3 }), 100, timeouts)
    expect(Array.from(got as Uint8Array)).toEqual([1, 1, 1])
  })

  it('refuses a body past the limit, or longer or shorter than it said', async () => {
    expect(
      await failure(readLimited(request([bytes(8)], { length: 200 }), 100, timeouts)),
    ).toBeInstanceOf(BodyTooLarge)
    expect(
      await failure(readLimited(request([bytes(60), bytes(60)]), 100, timeouts)),
    ).toBeInstanceOf(BodyTooLarge)
    for (const [chunks, length] of [
      [[bytes(8)], 4],
      [[bytes(2)], 4],
    ] as const)
      expect(
        await failure(readLimited(request([...chunks], { length }), 100, timeouts)),
      ).toMatchObject({
        status: 400,
        code: 'incomplete_body',
      })
  })

  it('cuts off a body that stalls, after the idle bound', async () => {
    const started = Date.now()
    const error = await failure(
      readLimited(request([bytes(5)], { length: 10, stall: true }), 100, {
        ...timeouts,
        graceMs: 5000,
      }),
    )
    expect(error).toBeInstanceOf(PollenError)
    expect(error).toMatchObject({ status: 408, code: 'body_timeout', field: '(body)' })
    expect((error as Error).message).toContain('no byte of the body arrived for 0.3 s')
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
  })

  it('cuts off a body that trickles in slower than the bound, though no wait is idle', async () => {
    // 1,000 bytes at 1,000 B/s after 200 ms of grace: 1.2 s in all; at 20 B/s it would take 50 s.
    const started = Date.now()
    const chunks = Array.from({ length: 1000 }, () => bytes(1))
    const error = await failure(
      readLimited(request(chunks, { everyMs: 50, length: 1000 }), 2000, timeouts),
    )
    expect(error).toMatchObject({ status: 408, code: 'body_timeout' })
    expect((error as Error).message).toMatch(/took longer than 1.2 s \(\d+ of 1000 bytes arrived\)/)
    expect(Date.now() - started).toBeLessThan(3000)
  })
})
