import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random'
import {
  MAX_CODEC_LENGTH,
  fwhtInPlace,
  nextPowerOfTwo,
  rotate,
  rotateInPlace,
  unrotate,
  unrotateInPlace,
} from './hadamard'

/** n entries uniform in [-1, 1): any vector will do, the rotation is exact for all. */
function uniform(n: number, seed: number): Float64Array {
  const random = mulberry32(seed)
  return new Float64Array(n).map(() => 2 * random() - 1)
}

const norm = (v: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) ** 2
  return Math.sqrt(sum)
}

describe('the randomized Hadamard rotation', () => {
  it('pads to the next power of two', () => {
    expect([1, 2, 3, 5, 1000, 1024, 1025].map(nextPowerOfTwo)).toEqual([
      1, 2, 4, 8, 1024, 1024, 2048,
    ])
    expect(rotate(new Float32Array(1000), 1)).toHaveLength(1024)
  })

  it('is the Walsh–Hadamard matrix on a small case', () => {
    const v = new Float64Array([1, 2, 3, 4])
    fwhtInPlace(v)
    expect(Array.from(v)).toEqual([10, -2, -4, 0])
  })

  it('is inverted by its transpose with the same seed, within float rounding', () => {
    for (const n of [1, 7, 1000, 4096]) {
      const x = uniform(n, n)
      const back = unrotate(rotate(x, 0xdeadbeef), 0xdeadbeef, n)
      for (let i = 0; i < n; i++) expect(back[i]).toBeCloseTo(x[i] as number, 12)
    }
    const y = Float32Array.from(uniform(2048, 3))
    const copy = y.slice()
    rotateInPlace(y, 42, 4096)
    expect(y).not.toEqual(copy)
    unrotateInPlace(y, 42, 4096)
    for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(copy[i] as number, 5)
  })

  it('preserves the norm', () => {
    const x = uniform(3000, 9)
    expect(norm(rotate(x, 17))).toBeCloseTo(norm(x), 10)
  })

  it('gives the same rotation for the same seed and another for another seed', () => {
    const x = uniform(500, 1)
    expect(rotate(x, 123)).toEqual(rotate(x, 123))
    expect(rotate(x, 123)).not.toEqual(rotate(x, 124))
    // A fixed vector: the signs are a function of (seed, index) in every engine and run.
    expect(Array.from(rotate([1, 2, 4, 8], 7))).toMatchInlineSnapshot(`
      [
        -4.5,
        1.5,
        7.5,
        -2.5,
      ]
    `)
  })

  it('spreads a spike over every coordinate', () => {
    const spike = new Float64Array(256)
    spike[3] = 16
    const y = rotate(spike, 5)
    for (const v of y) expect(Math.abs(v)).toBeCloseTo(1, 12)
  })

  it('refuses a bad seed or length, naming it', () => {
    expect(() => rotate([1], -1)).toThrow(/seed/)
    expect(() => rotate([1], 2 ** 32)).toThrow(/seed/)
    expect(() => rotate([1], 1.5)).toThrow(/seed/)
    expect(() => rotate([], 1)).toThrow(/length/)
    expect(() => unrotate(new Float64Array(4), 1, MAX_CODEC_LENGTH + 1)).toThrow(/length/)
    expect(() => unrotate(new Float64Array(4), 1, 5)).toThrow(/rotated length/)
    expect(() => fwhtInPlace(new Float64Array(6))).toThrow(/power-of-two/)
  })
})
