import { describe, expect, it } from 'vitest'
import { SecAggError } from './errors.ts'
import { combine, gfMul, split } from './shamir.ts'

const secret = () => crypto.getRandomValues(new Uint8Array(32))
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

/** Every k-subset of `items`. */
function* subsets<T>(items: T[], k: number, start = 0): Generator<T[]> {
  if (k === 0) {
    yield []
    return
  }
  for (let i = start; i <= items.length - k; i++)
    for (const rest of subsets(items, k - 1, i + 1)) yield [items[i]!, ...rest]
}

describe('GF(2^8)', () => {
  it('multiplies as the AES field does', () => {
    // FIPS 197 §4.2: {57} · {83} = {c1}, {57} · {13} = {fe}.
    expect(gfMul(0x57, 0x83)).toBe(0xc1)
    expect(gfMul(0x57, 0x13)).toBe(0xfe)
    expect(gfMul(0, 0x57)).toBe(0)
  })
})

describe('shamir', () => {
  it('shares are an x byte and one byte per secret byte', () => {
    const shares = split(secret(), 3, [5, 9, 200])
    expect(shares.map((s) => [s[0], s.length])).toEqual([
      [5, 33],
      [9, 33],
      [200, 33],
    ])
  })

  it('any t of n shares rebuild the secret, in any order', () => {
    for (const [t, n] of [
      [1, 3],
      [2, 3],
      [3, 5],
      [4, 7],
    ] as const) {
      const s = secret()
      const shares = split(s, t, range(n))
      for (const subset of subsets(shares, t)) {
        expect(combine(subset)).toEqual(s)
        expect(combine([...subset].reverse())).toEqual(s)
      }
      // More than t shares from the same split agree too.
      expect(combine(shares)).toEqual(s)
    }
  })

  it('works with 255 holders and a threshold of 153', () => {
    const s = secret()
    const shares = split(s, 153, range(255))
    expect(combine(shares.slice(100, 253))).toEqual(s)
  })

  it('t − 1 shares leave every secret equally consistent', () => {
    // Given t − 1 shares, each possible t-th share at a fresh x completes them to exactly one
    // secret, and the 256 completions give 256 different secrets: each secret byte is explained
    // by exactly one completion, so the t − 1 shares alone rule nothing out.
    for (const t of [2, 3, 5]) {
      const shares = split(new Uint8Array([0x42]), t, range(t)).slice(0, t - 1)
      const secrets = new Set<number>()
      for (let y = 0; y < 256; y++) secrets.add(combine([...shares, new Uint8Array([250, y])])[0]!)
      expect(secrets.size).toBe(256)
    }
  })

  it('t − 1 shares: exactly one polynomial per candidate secret (exhaustive, t = 3)', () => {
    const [s1, s2] = split(new Uint8Array([0x9d]), 3, [1, 2, 3])
    for (let candidate = 0; candidate < 256; candidate++) {
      let consistent = 0
      for (let a1 = 0; a1 < 256; a1++)
        for (let a2 = 0; a2 < 256; a2++) {
          const at = (x: number) => candidate ^ gfMul(a1, x) ^ gfMul(a2, gfMul(x, x))
          if (at(1) === s1![1] && at(2) === s2![1]) consistent++
        }
      expect(consistent).toBe(1)
    }
  })

  it('refuses a zero or repeated x, and thresholds out of range', () => {
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e instanceof SecAggError ? `${e.status} ${e.field}` : String(e)
      }
      return 'no error'
    }
    expect(code(() => split(secret(), 2, [0, 1]))).toBe('422 xs.0')
    expect(code(() => split(secret(), 2, [3, 3]))).toBe('422 xs.1')
    expect(code(() => split(secret(), 2, [1, 256]))).toBe('422 xs.1')
    expect(code(() => split(secret(), 4, [1, 2, 3]))).toBe('422 threshold')
    expect(code(() => split(secret(), 0, [1, 2, 3]))).toBe('422 threshold')
    expect(code(() => split(new Uint8Array(0), 1, [1]))).toBe('422 secret')
    const [a, b] = split(secret(), 2, [1, 2])
    expect(code(() => combine([a!, a!]))).toBe('422 shares.1')
    expect(code(() => combine([a!, new Uint8Array([0, ...b!.subarray(1)])]))).toBe('422 shares.1')
    expect(code(() => combine([a!, b!.subarray(0, 10)]))).toBe('422 shares.1')
    expect(code(() => combine([]))).toBe('422 shares')
  })
})
