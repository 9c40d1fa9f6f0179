import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { decodeInt8, encodeInt8, int8Bytes, quantizeInt8 } from './int8.ts'

const randomValues = (length: number, seed: number, spread = 1) => {
  const random = mulberry32(seed)
  return Float32Array.from({ length }, () => (random() * 2 - 1) * spread)
}

/** Each block's step, max |x| / 127, as the encoder chooses it (up to one float32 ulp). */
const steps = (values: Float32Array, blockSize: number) =>
  Array.from(values, (_, i) => {
    const start = i - (i % blockSize)
    const block = values.subarray(start, start + blockSize)
    return Math.max(...Array.from(block, Math.abs)) / 127
  })

/**
 * The statistic of the unbiasedness test: per entry, how many standard errors the mean of
 * `trials` decodes lies from x. The standard error is the most stochastic rounding can have,
 * step / (2√trials), so an unbiased encoder scores within a few units everywhere, and a biased
 * one scores its bias over that, which grows as √trials.
 */
function biasScores(encode: (seed: number) => Uint8Array, x: Float32Array, blockSize: number) {
  const trials = 2000
  const sums = new Float64Array(x.length)
  for (let seed = 0; seed < trials; seed++) {
    const decoded = decodeInt8(encode(seed), x.length, { blockSize })
    for (let i = 0; i < x.length; i++) sums[i]! += decoded[i]!
  }
  const step = steps(x, blockSize)
  return Array.from(sums, (sum, i) => {
    const standardError = step[i]! / (2 * Math.sqrt(trials))
    return Math.abs(sum / trials - x[i]!) / standardError
  })
}

describe('int8 with a scale per block', () => {
  it('decodes every entry within one step of its block, for block sizes with a short last block', () => {
    for (const blockSize of [1, 7, 256, 1000]) {
      const values = randomValues(2500, blockSize, 3)
      values[10] = 0
      const bytes = encodeInt8(values, { seed: 42, blockSize })
      expect(bytes.length).toBe(int8Bytes(2500, blockSize))
      const decoded = decodeInt8(bytes, values.length, { blockSize })
      const step = steps(values, blockSize)
      const outside = Array.from(values).filter(
        (x, i) => !(Math.abs(decoded[i]! - x) <= step[i]! * (1 + 2 ** -20)),
      )
      expect(outside).toEqual([])
      expect(decoded[10]).toBe(0)
    }
  })

  it('is unbiased: the mean over 2,000 seeds lies within 5 standard errors of x, every entry', () => {
    const x = randomValues(128, 7)
    const scores = biasScores((seed) => encodeInt8(x, { seed, blockSize: 64 }), x, 64)
    expect(Math.max(...scores)).toBeLessThan(5)
  })

  it('the same test finds the bias of rounding to nearest', () => {
    const x = randomValues(128, 7)
    const nearest = () => quantizeInt8(x, 64, () => 0.5) // round half down, no randomness
    const scores = biasScores(nearest, x, 64)
    expect(Math.max(...scores)).toBeGreaterThan(5)
    // Most entries, not a stray one: the bias is up to half a step, ~44 standard errors here.
    expect(scores.filter((score) => score > 5).length).toBeGreaterThan(100)
  })

  it('lays out the scales (float32 little-endian) first, then the entries as int8', () => {
    const bytes = encodeInt8(Float32Array.from([127, -63.5, 254, 0, 0]), {
      seed: 1,
      blockSize: 2,
    })
    const view = new DataView(bytes.buffer)
    expect([0, 4, 8].map((at) => view.getFloat32(at, true))).toEqual([1, 2, 0])
    const entries = Array.from(new Int8Array(bytes.buffer, 12))
    expect([entries[0], entries[2], entries[3], entries[4]]).toEqual([127, 127, 0, 0])
    expect([-63, -64]).toContain(entries[1])
  })

  it('encodes a block of zeros as a zero scale and zero entries', () => {
    const values = new Float32Array(300)
    values.fill(0.5, 256)
    const bytes = encodeInt8(values, { seed: 3 })
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0, 0, 0, 0])
    expect(Array.from(bytes.subarray(8, 8 + 256)).every((b) => b === 0)).toBe(true)
    const decoded = decodeInt8(bytes, 300)
    expect(decoded.subarray(0, 256).every((x) => x === 0)).toBe(true)
    expect(decoded.subarray(256).every((x) => Math.abs(x - 0.5) < 0.5 / 127)).toBe(true)
  })

  it('gives the same bytes for the same seed, other bytes for another', () => {
    const values = randomValues(512, 5)
    const a = encodeInt8(values, { seed: 9 })
    expect(encodeInt8(values, { seed: 9 })).toEqual(a)
    expect(encodeInt8(values, { seed: 10 })).not.toEqual(a)
  })

  it('keeps every x / scale within ±127 for blocks of the tiniest values', () => {
    const values = Float32Array.from([1e-45, -3e-45, 2 ** -126, 3.4e38])
    const decoded = decodeInt8(encodeInt8(values, { seed: 4, blockSize: 2 }), 4, { blockSize: 2 })
    expect(Math.abs(decoded[1]! - values[1]!)).toBeLessThanOrEqual(1e-45)
    expect(Math.abs(decoded[3]! - values[3]!) / values[3]!).toBeLessThan(1 / 127)
  })

  it('refuses bad input naming the parameter', () => {
    const values = Float32Array.from([1, NaN])
    expect(() => encodeInt8(values, { seed: 1 })).toThrow(/^values\.1: is NaN/)
    expect(() => encodeInt8(new Float32Array(2), { seed: -1 })).toThrow(/^seed: /)
    expect(() => encodeInt8(new Float32Array(2), { seed: 2 ** 32 })).toThrow(/^seed: /)
    expect(() => encodeInt8(new Float32Array(2), { seed: 1, blockSize: 0 })).toThrow(/^blockSize/)
    expect(() => decodeInt8(new Uint8Array(2), 2, { blockSize: 65537 })).toThrow(/^blockSize/)
    expect(() => decodeInt8(new Uint8Array(5), 2)).toThrow(
      /^bytes: holds 5 bytes, 2 entries need 6/,
    )
    const negativeScale = new Uint8Array(6)
    new DataView(negativeScale.buffer).setFloat32(0, -1, true)
    expect(() => decodeInt8(negativeScale, 2)).toThrow(/^bytes\.scales\.0: is -1/)
    const nanScale = new Uint8Array(6)
    new DataView(nanScale.buffer).setFloat32(0, NaN, true)
    expect(() => decodeInt8(nanScale, 2)).toThrow(/^bytes\.scales\.0: is NaN/)
    expect(() => decodeInt8(Uint8Array.from([0, 0, 128, 63, 0, 128]), 2)).toThrow(
      /^bytes\.entries\.1: is -128/,
    )
  })
})
