import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { maxOf, select, sortRange } from './select.ts'

const random = mulberry32(14)

/** Columns an attacker or a quiet round might send: random, sorted, reversed, tied, two-valued. */
function columns(n: number): number[][] {
  const r = Array.from({ length: n }, () => random() * 2 - 1)
  const up = [...r].sort((a, b) => a - b)
  return [
    r,
    up,
    [...up].reverse(),
    Array.from({ length: n }, () => 0.5),
    Array.from({ length: n }, (_, i) => i % 2),
    Array.from({ length: n }, () => Math.floor(random() * 3)),
    // organ pipe: up then down
    Array.from({ length: n }, (_, i) => Math.min(i, n - 1 - i)),
  ]
}

describe('select', () => {
  it('puts the k-th value in place, none greater before it, none smaller after', () => {
    for (const n of [1, 2, 3, 15, 16, 17, 30, 33, 64, 101, 500]) {
      for (const values of columns(n)) {
        const sorted = [...values].sort((a, b) => a - b)
        for (const k of new Set([0, n >> 1, n - 1, Math.floor(random() * n)])) {
          const a = new Float64Array(values)
          select(a, k)
          expect(a[k]).toBe(sorted[k])
          expect(Math.max(...a.subarray(0, k))).toBeLessThanOrEqual(a[k]!)
          expect(Math.min(...a.subarray(k + 1))).toBeGreaterThanOrEqual(a[k]!)
          // A permutation: the same values, reordered.
          expect(Array.from(a).sort((x, y) => x - y)).toEqual(sorted)
        }
      }
    }
  })

  it('works within a range and leaves the rest alone', () => {
    const a = new Float64Array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    select(a, 4, 2, 8) // [7, 6, 5, 4, 3, 2] → the third smallest, 4, at index 4
    expect(a[4]).toBe(4)
    expect([a[0], a[1], a[8], a[9]]).toEqual([9, 8, 1, 0])
    expect(() => select(a, 8, 2, 8)).toThrow(RangeError)
  })
})

describe('sortRange and maxOf', () => {
  it('sort a range, short or long, and find its largest value', () => {
    for (const n of [5, 32, 33, 200]) {
      const values = columns(n)[0]!
      const a = new Float64Array([100, ...values, -100])
      sortRange(a, 1, n + 1)
      expect(Array.from(a)).toEqual([100, ...[...values].sort((x, y) => x - y), -100])
      expect(maxOf(a, 1, n + 1)).toBe(Math.max(...values))
    }
  })
})
