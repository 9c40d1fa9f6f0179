/**
 * float16: each float32 entry as an IEEE 754 half (binary16), rounded to nearest, ties to even.
 *
 * - Bytes: 2 per entry, little-endian, in the tensor's order; no header (the container carries
 *   the length).
 * - Bias: none beyond rounding to nearest (deterministic; ties to even, so ties do not drift).
 * - Error bound: for |x| in the normal half range [2⁻¹⁴, 65504], |decode(encode(x)) − x| ≤ 2⁻¹¹·|x|;
 *   below 2⁻¹⁴ (subnormals) the error is at most 2⁻²⁵ absolute; |x| ≥ 65520 becomes ±Infinity
 *   (65504, the largest half, is the nearest value below). NaN stays NaN (its sign and the top
 *   bits of its payload kept); the coordinator refuses NaN and ±Infinity in an update, so a
 *   phone must not send a model whose entries overflow.
 */
import { checkLength, codecError } from './limits.ts'

export const FLOAT16_BYTES = 2

/** The largest finite half. */
export const FLOAT16_MAX = 65504

// One scratch word to read a float32's bits (the codecs run in one thread per realm).
const scratch = new Float32Array(1)
const scratchBits = new Uint32Array(scratch.buffer)

/** The float32 bit pattern `bits` as a half's 16 bits, rounded to nearest even. */
function halfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits >>> 23) & 0xff
  const mantissa = bits & 0x7fffff
  // NaN keeps its top payload bits and is forced quiet, so it never becomes Infinity.
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13))
  const halfExponent = exponent - 112 // rebias: 127 → 15
  if (halfExponent >= 31) return sign | 0x7c00
  if (halfExponent <= 0) return sign | subnormal(0x800000 | mantissa, 126 - exponent)
  // A carry out of the mantissa moves into the exponent: 65520 and above become Infinity.
  return sign | roundShifted((halfExponent << 10) | (mantissa >>> 13), mantissa & 0x1fff, 0x1000)
}

/** (full significand) >> shift, rounded to nearest even; 0 once below half the least subnormal. */
function subnormal(significand: number, shift: number): number {
  if (shift > 24) return 0
  const half = 1 << (shift - 1)
  return roundShifted(significand >>> shift, significand & ((1 << shift) - 1), half)
}

/** `kept` rounded by the bits shifted out (`rest`), where `half` is exactly one half of a unit. */
const roundShifted = (kept: number, rest: number, half: number): number =>
  rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept

/** A half's 16 bits as a number (exact: every half is a float32). */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 31) {
    if (mantissa === 0) return sign * Infinity
    scratchBits[0] = ((bits & 0x8000) << 16) | 0x7f800000 | (mantissa << 13)
    return scratch[0]!
  }
  return sign * (1024 + mantissa) * 2 ** (exponent - 25)
}

/** Each entry as a half, 2 bytes little-endian. */
export function encodeFloat16(values: Float32Array): Uint8Array<ArrayBuffer> {
  checkLength(values.length, 'values.length')
  const out = new Uint8Array(values.length * FLOAT16_BYTES)
  for (let i = 0; i < values.length; i++) {
    scratch[0] = values[i]!
    const half = halfBits(scratchBits[0]!)
    out[2 * i] = half & 0xff
    out[2 * i + 1] = half >>> 8
  }
  return out
}

/** The `length` entries `bytes` holds; its size must be exactly 2 bytes per entry. */
export function decodeFloat16(bytes: Uint8Array, length: number): Float32Array<ArrayBuffer> {
  checkLength(length, 'length')
  if (bytes.length !== length * FLOAT16_BYTES)
    throw codecError('bytes', `holds ${bytes.length} bytes, ${length} halves need ${length * 2}`)
  const out = new Float32Array(length)
  for (let i = 0; i < length; i++) out[i] = halfValue(bytes[2 * i]! | (bytes[2 * i + 1]! << 8))
  return out
}
