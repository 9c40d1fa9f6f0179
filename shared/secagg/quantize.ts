import { invalid } from './errors.ts'

/**
 * Fixed point modulo 2^32. An entry x in [−range, range] becomes round((x + range) · scale), an
 * integer in [0, 2·range·scale]; with scale = scaleFor(participants, range) the sum of every
 * participant's entries stays below 2^32, so the masked sum never wraps and the server can
 * subtract count · range to get the real sum back.
 */

const MODULUS = 2 ** 32

/** Levels per unit: ⌊(2^32 − 1) / (participants · 2 · range)⌋, at least 1. */
export function scaleFor(participants: number, range: number): number {
  if (!Number.isInteger(participants) || participants < 1)
    throw invalid('participants', 'must be a whole number of at least 1')
  if (!(range > 0) || !Number.isFinite(range)) throw invalid('range', 'must be finite and positive')
  // At 1 (a range too wide for this many participants) sums of extreme inputs could wrap;
  // Pollen's ranges (a clip norm, default 1) are many orders of magnitude below that.
  return Math.max(1, Math.floor((MODULUS - 1) / (participants * 2 * range)))
}

/** Clamps each value to [−range, range] and quantizes it; NaN is refused (422 on `values.i`). */
export function quantize(
  values: ArrayLike<number>,
  range: number,
  scale: number,
): Uint32Array<ArrayBuffer> {
  const out = new Uint32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!
    if (x !== x) throw invalid(`values.${i}`, 'NaN cannot be quantized')
    const clamped = x < -range ? -range : x > range ? range : x
    out[i] = Math.round((clamped + range) * scale)
  }
  return out
}

/** The real sum of `count` quantized vectors: S / scale − count · range. */
export function dequantizeSum(
  sum: Uint32Array,
  count: number,
  range: number,
  scale: number,
): Float64Array {
  const out = new Float64Array(sum.length)
  const offset = count * range
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! / scale - offset
  return out
}

/**
 * The most one entry of a dequantized sum of `count` vectors can differ from the sum of the
 * clamped inputs: each rounding is off by at most half a level.
 */
export const quantizationError = (count: number, scale: number): number => count / (2 * scale)
