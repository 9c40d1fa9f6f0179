import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { decodeFloat16, encodeFloat16, FLOAT16_MAX } from './float16.ts'

const roundTrip = (values: number[]) =>
  Array.from(decodeFloat16(encodeFloat16(Float32Array.from(values)), values.length))

/** Every finite non-negative half, ascending, with its bits: the reference to round against. */
const halves = (() => {
  const all = new Uint8Array(2 * 0x7c00)
  for (let bits = 0; bits < 0x7c00; bits++) {
    all[2 * bits] = bits & 0xff
    all[2 * bits + 1] = bits >>> 8
  }
  return decodeFloat16(all, 0x7c00)
})()

/** The nearest half to x ≥ 0 by search over the table, ties to the even bit pattern. */
function nearestHalf(x: number): number {
  if (x >= FLOAT16_MAX + 16) return Infinity
  let lo = 0
  let hi = halves.length - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (halves[mid]! <= x) lo = mid
    else hi = mid
  }
  const below = x - halves[lo]!
  const above = halves[hi]! - x
  if (below < above || (below === above && lo % 2 === 0)) return halves[lo]!
  return halves[hi]!
}

describe('float16', () => {
  it('round-trips every half bit pattern (NaNs as NaN)', () => {
    const bytes = new Uint8Array(2 * 65536)
    for (let bits = 0; bits < 65536; bits++) {
      bytes[2 * bits] = bits & 0xff
      bytes[2 * bits + 1] = bits >>> 8
    }
    const values = decodeFloat16(bytes, 65536)
    const again = encodeFloat16(values)
    const wrong: number[] = []
    for (let bits = 0; bits < 65536; bits++) {
      const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0
      const back = again[2 * bits]! | (again[2 * bits + 1]! << 8)
      if (isNaN ? !Number.isNaN(values[bits]) : back !== bits) wrong.push(bits)
    }
    expect(wrong).toEqual([])
  })

  it('rounds 200,000 values over every magnitude to the nearest half, within 2⁻¹¹ relative', () => {
    const random = mulberry32(18)
    const values = new Float32Array(200_000)
    for (let i = 0; i < values.length; i++) {
      const magnitude = 2 ** (-30 + random() * 47) // 2⁻³⁰ .. 2¹⁷: below subnormals to overflow
      values[i] = (random() < 0.5 ? -1 : 1) * magnitude
    }
    const decoded = decodeFloat16(encodeFloat16(values), values.length)
    const wrong: string[] = []
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!
      const y = decoded[i]!
      const magnitude = Math.abs(x)
      const bound = magnitude < 2 ** -14 ? 2 ** -25 : 2 ** -11 * magnitude
      const nearest =
        Math.abs(y) === nearestHalf(magnitude) && (y === 0 || Math.sign(y) === Math.sign(x))
      const within = magnitude > FLOAT16_MAX || Math.abs(y - x) <= bound
      if (!nearest || !within) wrong.push(`${x} → ${y}`)
    }
    expect(wrong).toEqual([])
  })

  it('keeps the edges: the largest half, overflow to Infinity, subnormals, ties to even', () => {
    expect(roundTrip([65504, 65519, 65520, -1e10, Infinity, -Infinity])).toEqual([
      65504,
      65504,
      Infinity,
      -Infinity,
      Infinity,
      -Infinity,
    ])
    const least = 2 ** -24
    expect(
      roundTrip([least, 2 ** -25, 2 ** -25 * 1.0000001, 3 * 2 ** -25, 2 ** -14 - least]),
    ).toEqual([least, 0, least, 2 * least, 2 ** -14 - least])
    expect(roundTrip([2 ** -14, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -150])).toEqual([
      2 ** -14,
      1,
      1 + 2 ** -9,
      0,
    ])
    const [negativeZero, nan] = roundTrip([-0, NaN])
    expect(Object.is(negativeZero, -0)).toBe(true)
    expect(nan).toBeNaN()
  })

  it('refuses bytes of the wrong size and lengths out of bounds, naming the parameter', () => {
    expect(() => decodeFloat16(new Uint8Array(5), 2)).toThrow(/^bytes: holds 5 bytes/)
    expect(() => decodeFloat16(new Uint8Array(0), -1)).toThrow(RangeError)
    expect(() => decodeFloat16(new Uint8Array(0), 1.5)).toThrow(/^length: /)
    expect(() => decodeFloat16(new Uint8Array(0), 2 ** 28)).toThrow(/^length: /)
  })
})
