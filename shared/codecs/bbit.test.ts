import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random'
import {
  BBIT_EXPECTED_NMSE,
  BBIT_LEVELS,
  SMALLEST_BLOCK,
  bbitBlocks,
  bbitByteLength,
  decodeBbit,
  encodeBbit,
} from './bbit'
import { rotate } from './hadamard'

const BITS = [1, 2, 3, 4]

function gaussian(n: number, seed: number): Float32Array {
  const random = mulberry32(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    out[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  }
  return out
}

/** Heavy-tailed (a Gaussian cubed) with a nonzero mean: far from what the levels assume. */
const skewed = (n: number, seed: number): Float32Array => gaussian(n, seed).map((v) => v ** 3 + 0.5)

/** Mostly zeros, a few large entries: what the rotation has to spread out. */
function sparse(n: number, seed: number): Float32Array {
  const random = mulberry32(seed)
  return new Float32Array(n).map(() => (random() < 0.02 ? 10 * (random() - 0.3) : 0))
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number)
  return sum
}
const nmse = (estimate: ArrayLike<number>, x: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += ((estimate[i] as number) - (x[i] as number)) ** 2
  return sum / dot(x, x)
}

/**
 * How far the mean of `trials` decodings (one seed each, `tamper` given the bytes) is from x,
 * over how far it would be were the codec unbiased: E‖mean − x‖² = E‖x̂ − x‖²/trials + ‖bias‖²,
 * so the ratio is near 1 without a bias and grows with trials with one.
 */
function biasRatio(
  x: Float32Array,
  bits: number,
  trials: number,
  tamper = (_: Uint8Array) => {},
): number {
  const mean = new Float64Array(x.length)
  let spread = 0
  for (let seed = 1; seed <= trials; seed++) {
    const bytes = encodeBbit(x, { bits, seed })
    tamper(bytes)
    const decoded = decodeBbit(bytes, { bits, seed, length: x.length })
    spread += nmse(decoded, x) / trials
    for (let i = 0; i < x.length; i++)
      mean[i] = (mean[i] as number) + (decoded[i] as number) / trials
  }
  return nmse(mean, x) / (spread / trials)
}

describe('the b-bit codec', () => {
  it('cuts a vector into power-of-two blocks and pads only the rest', () => {
    expect(bbitBlocks(5)).toEqual([{ offset: 0, size: 8, filled: 5 }])
    expect(bbitBlocks(199_210).map((b) => b.size)).toEqual([131_072, 65_536, 2048, 1024])
    expect(bbitBlocks(3 * SMALLEST_BLOCK)).toEqual([
      { offset: 0, size: 2048, filled: 2048 },
      { offset: 2048, size: 1024, filled: 1024 },
    ])
    // b/8 bytes an entry plus the scales: 1-bit mnist-2nn is 25 kB, not 800 kB.
    expect(bbitByteLength(199_210, 1)).toBe(4 * 4 + 199_680 / 8)
    expect(bbitByteLength(199_210, 3)).toBe(4 * 4 + (199_680 * 3) / 8)
    for (const bits of BITS) {
      expect(encodeBbit(gaussian(199_210, 1), { bits, seed: 1 })).toHaveLength(
        bbitByteLength(199_210, bits),
      )
    }
  })

  it('writes the scale first and the signs of R·x LSB-first (1 bit)', () => {
    const x = gaussian(16, 4)
    const bytes = encodeBbit(x, { bits: 1, seed: 99 })
    const y = rotate(x, 99)
    const scale = new DataView(bytes.buffer).getFloat32(0, true)
    expect(scale).toBeCloseTo(dot(x, x) / y.reduce((sum, v) => sum + Math.abs(v), 0) / 0.797885, 4)
    for (let i = 0; i < 16; i++)
      expect((bytes[4 + (i >> 3)]! >> (i & 7)) & 1).toBe(y[i]! > 0 ? 1 : 0)
  })

  it('packs 4-bit level indices two a byte, the first in the low half', () => {
    const x = gaussian(4, 5)
    const bytes = encodeBbit(x, { bits: 4, seed: 3 })
    const y = rotate(x, 3)
    const unit = Math.sqrt(4 / dot(x, x))
    const levels = BBIT_LEVELS[4]!
    const nearest = (z: number) => {
      let best = 0
      levels.forEach((level, i) => {
        if (Math.abs(level - z) < Math.abs(levels[best]! - z)) best = i
      })
      return best
    }
    expect(bytes[4]).toBe(nearest(y[0]! * unit) | (nearest(y[1]! * unit) << 4))
    expect(bytes[5]).toBe(nearest(y[2]! * unit) | (nearest(y[3]! * unit) << 4))
  })

  it('decodes zeros to zeros and one entry exactly', () => {
    for (const bits of BITS) {
      const zeros = new Float32Array(3000)
      const decoded = decodeBbit(encodeBbit(zeros, { bits, seed: 1 }), {
        bits,
        seed: 1,
        length: 3000,
      })
      expect(decoded.every((v) => v === 0)).toBe(true)
      expect(
        decodeBbit(encodeBbit(new Float32Array([-2.5]), { bits, seed: 8 }), {
          bits,
          seed: 8,
          length: 1,
        })[0],
      ).toBeCloseTo(-2.5, 6)
    }
  })

  it('gives back ‖x‖² along x on every decoding: ⟨x̂, x⟩ = ‖x‖²', () => {
    const x = skewed(3000, 8)
    for (const bits of BITS) {
      for (const seed of [1, 2, 3]) {
        const decoded = decodeBbit(encodeBbit(x, { bits, seed }), { bits, seed, length: 3000 })
        expect(dot(decoded, x) / dot(x, x)).toBeCloseTo(1, 5)
      }
    }
  })

  it('is unbiased over seeds: the mean of many decodings approaches x', () => {
    for (const [name, x] of [
      ['gaussian', gaussian(1500, 2)],
      ['skewed', skewed(1024, 3)],
      ['sparse', sparse(2048, 4)],
    ] as const) {
      for (const bits of BITS)
        expect(biasRatio(x, bits, 300), `${name}, ${bits} bits`).toBeLessThan(1.5)
    }
  })

  it('detects a biased scale: ‖x‖/√n instead of ‖x‖²/⟨Rx, q⟩ fails the same test', () => {
    const x = gaussian(1024, 6)
    const norm = Math.sqrt(dot(x, x) / x.length)
    const biasedScale = (bytes: Uint8Array) => new DataView(bytes.buffer).setFloat32(0, norm, true)
    for (const bits of BITS)
      expect(biasRatio(x, bits, 300, biasedScale), `${bits} bits`).toBeGreaterThan(3)
  })

  it('keeps ‖x̂ − x‖²/‖x‖² within its stated bound, shrinking as b grows', () => {
    const length = 20_000
    const seen = BITS.map((bits) => {
      let sum = 0
      for (let seed = 1; seed <= 8; seed++) {
        const x = gaussian(length, 100 + seed)
        sum += nmse(decodeBbit(encodeBbit(x, { bits, seed }), { bits, seed, length }), x) / 8
      }
      expect(sum, `${bits} bits`).toBeLessThan(1.05 * BBIT_EXPECTED_NMSE[bits]!)
      expect(sum, `${bits} bits`).toBeGreaterThan(0.95 * BBIT_EXPECTED_NMSE[bits]!)
      return sum
    })
    expect(seen[0]).toBeCloseTo(Math.PI / 2 - 1, 1)
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeLessThan(seen[i - 1]! / 3)
  })

  it('decodes to another vector under another seed, and the same bytes under the same', () => {
    const x = gaussian(4096, 7)
    expect(encodeBbit(x, { bits: 2, seed: 5 })).toEqual(encodeBbit(x, { bits: 2, seed: 5 }))
    const wrong = decodeBbit(encodeBbit(x, { bits: 2, seed: 5 }), {
      bits: 2,
      seed: 6,
      length: 4096,
    })
    expect(nmse(wrong, x)).toBeGreaterThan(1)
  })

  it('refuses bad parameters and bytes, naming them', () => {
    const x = gaussian(10, 1)
    for (const bits of [0, 5, 2.5]) expect(() => encodeBbit(x, { bits, seed: 1 })).toThrow(/bits/)
    for (const seed of [-1, 2 ** 32, 0.5])
      expect(() => encodeBbit(x, { bits: 1, seed })).toThrow(/seed/)
    expect(() => encodeBbit(new Float32Array(0), { bits: 1, seed: 1 })).toThrow(/length/)
    expect(() => decodeBbit(new Uint8Array(6), { bits: 1, seed: 1, length: 2 ** 28 + 1 })).toThrow(
      /length/,
    )
    expect(() => encodeBbit(Float32Array.of(1, 2, 3, NaN), { bits: 1, seed: 1 })).toThrow(
      /values\[3\]/,
    )
    expect(() => encodeBbit(Float32Array.of(1, Infinity), { bits: 1, seed: 1 })).toThrow(
      /values\[1\]/,
    )
    const bytes = encodeBbit(x, { bits: 2, seed: 1 })
    expect(() => decodeBbit(bytes.subarray(1), { bits: 2, seed: 1, length: 10 })).toThrow(
      /bytes must be 8/,
    )
    expect(() => decodeBbit(bytes, { bits: 2, seed: 1, length: 17 })).toThrow(/bytes/)
    for (const bad of [NaN, -1, Infinity]) {
      const tampered = bytes.slice()
      new DataView(tampered.buffer).setFloat32(0, bad, true)
      expect(() => decodeBbit(tampered, { bits: 2, seed: 1, length: 10 })).toThrow(
        /block 0's scale/,
      )
    }
    const huge = bytes.slice()
    new DataView(huge.buffer).setFloat32(0, 3e38, true)
    expect(() => decodeBbit(huge, { bits: 2, seed: 1, length: 10 })).toThrow(/non-finite/)
    expect(() => encodeBbit(Float32Array.of(3e38, 3e38, 3e38), { bits: 1, seed: 1 })).toThrow(
      /overflows float32/,
    )
  })
})
