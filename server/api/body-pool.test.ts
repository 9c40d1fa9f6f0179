import { describe, expect, it } from 'vitest'
import { bodyPool } from './body-pool.ts'

const MB = 1_000_000
/** A model's update limit: its payload plus 64 KiB (admission.ts), as bodies come near it. */
const LIMIT = 4 * MB + 65_536
const same = (a: Uint8Array, b: Uint8Array) => a.buffer === b.buffer

describe('body pool', () => {
  it('hands a buffer given back to the next body of about its size, and none still lent', () => {
    const pool = bodyPool()
    const a = pool.take(4 * MB, LIMIT)
    const b = pool.take(4 * MB, LIMIT)
    expect(same(a, b)).toBe(false)
    expect([a.byteOffset, a.length]).toEqual([0, 4 * MB])
    pool.give(a)
    const c = pool.take(4 * MB + 20, LIMIT)
    expect(same(c, a)).toBe(true)
    expect(c.length).toBe(4 * MB + 20)
    // b is still lent: the next body gets a buffer of its own.
    expect(same(pool.take(4 * MB, LIMIT), b)).toBe(false)
  })

  it('pools a buffer given back twice once: two bodies never share it', () => {
    const pool = bodyPool()
    const a = pool.take(4 * MB, LIMIT)
    pool.give(a)
    pool.give(a)
    expect(pool.free).toBe(1)
    const b = pool.take(4 * MB, LIMIT)
    const c = pool.take(4 * MB, LIMIT)
    expect(same(b, a)).toBe(true)
    expect(same(c, a)).toBe(false)
    // A stale give of the first lease, after the buffer was lent again, does not free it.
    pool.give(a)
    pool.give(b)
    expect(pool.free).toBe(1)
  })

  it('leaves alone small bodies and buffers it did not lend', () => {
    const pool = bodyPool()
    const small = pool.take(1000, LIMIT)
    pool.give(small)
    pool.give(new Uint8Array(4 * MB))
    expect(pool.free).toBe(0)
    expect(small.length).toBe(1000)
  })

  it('never lends a buffer past the limit, nor one much larger than the body', () => {
    const pool = bodyPool()
    const big = pool.take(4 * MB, LIMIT)
    pool.give(big)
    // Under a smaller limit, or for a body far smaller, the pooled buffer is not used.
    expect(same(pool.take(4 * MB, 4 * MB + 10), big)).toBe(false)
    expect(same(pool.take(2 * MB, LIMIT), big)).toBe(false)
    // A body close to its limit gets a buffer of the limit (room for the next one, no more).
    expect(pool.take(LIMIT - 100, LIMIT).buffer.byteLength).toBe(LIMIT)
    expect(pool.take(2 * MB, LIMIT).buffer.byteLength).toBe(2 * MB)
    expect(pool.take(LIMIT + 1, LIMIT).buffer.byteLength).toBe(LIMIT + 1)
  })

  it('keeps at most maxFree buffers waiting', () => {
    const pool = bodyPool({ maxFree: 2 })
    const lent = [1, 2, 3].map(() => pool.take(4 * MB, LIMIT))
    for (const bytes of lent) pool.give(bytes)
    expect(pool.free).toBe(2)
    expect(() => bodyPool({ maxFree: -1 })).toThrow(/maxFree/)
  })
})
