/**
 * A seeded randomized Hadamard rotation, R = H·D/√n: D flips signs (±1 from the seed), H is the
 * Walsh–Hadamard matrix, n a power of two. R is orthogonal, so Rᵀ = D·H/√n undoes it and
 * ‖Rx‖ = ‖x‖. After R the coordinates of any vector look nearly Gaussian, which is what lets the
 * b-bit codec (`bbit.ts`) quantize them with one table. O(n log n), in place, typed arrays only.
 *
 * The signs come from a counter-based hash of (seed, index), not a stream, so a block that
 * starts at `offset` of a longer layout draws its own signs without generating the ones before.
 */
import { checkInteger, checkSeed, MAX_ENTRIES } from './limits.ts'

/** The largest length the codecs accept: limits.ts's, one bound for every codec. */
export const MAX_CODEC_LENGTH = MAX_ENTRIES

/** A buffer the rotation works on in place. */
export type RotationBuffer = Float32Array | Float64Array

/** The smallest power of two ≥ n (n ≥ 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

export { checkSeed }

/** A length the rotation takes: at least one entry, at most MAX_CODEC_LENGTH. */
export const checkLength = (length: number, name = 'length'): void =>
  checkInteger(length, name, 1, MAX_CODEC_LENGTH)

/** murmur3's 32-bit finalizer over (seed, word): 32 well-mixed sign bits per word. */
function signWord(seed: number, word: number): number {
  let h = (seed ^ Math.imul(word + 1, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Multiplies v[i] by D's entry at offset + i (its own inverse: D·D = I). */
export function flipSigns(v: RotationBuffer, seed: number, offset = 0): void {
  let word = -1
  let bits = 0
  for (let i = 0; i < v.length; i++) {
    const at = offset + i
    if (at >>> 5 !== word) {
      word = at >>> 5
      bits = signWord(seed, word)
    }
    if ((bits >>> (at & 31)) & 1) v[i] = -(v[i] as number)
  }
}

/** The unnormalized fast Walsh–Hadamard transform, in place; v.length a power of two. */
export function fwhtInPlace(v: RotationBuffer): void {
  const n = v.length
  if (n & (n - 1)) throw new RangeError(`the transform needs a power-of-two length, got ${n}`)
  for (let half = 1; half < n; half *= 2) {
    for (let start = 0; start < n; start += 2 * half) {
      for (let i = start; i < start + half; i++) {
        const a = v[i] as number
        const b = v[i + half] as number
        v[i] = a + b
        v[i + half] = a - b
      }
    }
  }
}

function scale(v: RotationBuffer, by: number): void {
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * by
}

/** v ← R·v = H·D·v/√n, in place; `offset` places v's signs within a longer layout. */
export function rotateInPlace(v: RotationBuffer, seed: number, offset = 0): void {
  checkSeed(seed)
  flipSigns(v, seed, offset)
  fwhtInPlace(v)
  scale(v, 1 / Math.sqrt(v.length))
}

/** v ← Rᵀ·v = D·H·v/√n, in place: undoes `rotateInPlace` with the same seed and offset. */
export function unrotateInPlace(v: RotationBuffer, seed: number, offset = 0): void {
  checkSeed(seed)
  fwhtInPlace(v)
  scale(v, 1 / Math.sqrt(v.length))
  flipSigns(v, seed, offset)
}

/** R·x with x zero-padded to the next power of two (float64, so the codec's sums stay exact). */
export function rotate(x: ArrayLike<number>, seed: number): Float64Array {
  checkLength(x.length)
  const v = new Float64Array(nextPowerOfTwo(x.length))
  for (let i = 0; i < x.length; i++) v[i] = x[i] as number
  rotateInPlace(v, seed)
  return v
}

/** The first `length` entries of Rᵀ·y: the inverse of `rotate` for a vector of that length. */
export function unrotate(y: ArrayLike<number>, seed: number, length: number): Float64Array {
  checkLength(length)
  if (y.length !== nextPowerOfTwo(length)) {
    throw new RangeError(`rotated length must be ${nextPowerOfTwo(length)}, got ${y.length}`)
  }
  const v = Float64Array.from(y)
  unrotateInPlace(v, seed)
  return v.slice(0, length)
}
