import { bbitBlocks } from '../codecs/bbit.ts'
import { bbitBits, type Codec } from '../tensors/index.ts'
import { rotateInPlace, unrotateInPlace } from '../codecs/hadamard.ts'
import { invalid } from './errors.ts'

/**
 * b-bit secure aggregation (issue 18): quantize before masking, so that the masked words carry
 * b + ⌈log₂ n⌉ bits an entry instead of 32.
 *
 * A participant clips its vector x to L2 norm `range`, cuts it into the b-bit codec's blocks
 * (shared/codecs/bbit.ts: powers of two, the rest zero-padded) and rotates each with the round's
 * seed (the randomized Hadamard rotation, every participant the same), so that a block's entries
 * are near N(0, ‖x_block‖²/size). Each rotated entry y is clamped to [−R, R] and rounded
 * stochastically onto the 2^b levels −R + k·Δ, Δ = 2R/(2^b − 1): up with probability the
 * fraction of a level it passes, so E[k·Δ − R] = y for every |y| ≤ R (unbiased, given the
 * rotation). The level indices k are masked in the ring Z_{2^m}, m = b + ⌈log₂ n⌉: n indices of
 * at most 2^b − 1 sum below 2^m, so the ring's sum is the true sum of indices, and the server
 * gets Σy back as Δ·K − n·R, then unrotates.
 *
 * R = min(range, SPREAD·range/√size) for a block of `size` entries: a rotated entry of a vector
 * of norm at most `range` is at most `range` in size, and passes SPREAD standard deviations of its
 * worst case (all the norm in one block) about once in 16,000 entries (P(|N(0,1)| > 4) = 6·10⁻⁵),
 * less when the norm is spread over blocks. Only a clamped entry is biased, towards zero, by its
 * excess |y| − R.
 *
 * Why not EDEN's scale: EDEN (and the b-bit codec) sends one scale per block, fitted to that
 * device's vector; under masking the server sees only the sum of the indices, and indices on
 * different scales cannot be summed. So the grid is shared and fixed in advance, from the bound
 * every vector keeps; unbiasedness comes from stochastic rounding instead of the scale, and the
 * error is larger: E‖x̂ − x‖² ≤ Σ_blocks size·Δ²/4 per participant, averaged down by n in the mean.
 */

/** Rotated standard deviations of the worst case kept inside [−R, R]. */
export const SPREAD = 4

/** The ring's bits: b + ⌈log₂ n⌉, so that n indices below 2^b sum without wrapping. */
export function ringBits(bits: number, participants: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 4) throw invalid('config.bits', 'not 1..4')
  if (!Number.isInteger(participants) || participants < 1)
    throw invalid('config.participants', 'not a whole number of at least 1')
  const m = bits + Math.ceil(Math.log2(participants))
  // Words are packed and summed in 32 bits: a wider ring would wrap silently.
  if (m > 32) throw invalid('config.participants', `too many for ${bits}-bit indices in 32 bits`)
  return m
}

/** Words masked for a vector of `length` entries: its blocks' padded sizes. */
export const ringLength = (length: number): number =>
  bbitBlocks(length).reduce((sum, block) => sum + block.size, 0)

/** R for a block of `size` entries of a vector whose norm is at most `range`. */
export const blockRange = (range: number, size: number): number =>
  Math.min(range, (SPREAD * range) / Math.sqrt(size))

/** The grid's step for a block: 2R/(2^b − 1). */
export const blockStep = (range: number, size: number, bits: number): number =>
  (2 * blockRange(range, size)) / (2 ** bits - 1)

export interface RingSettings {
  /** Bits an index, 1..4. */
  bits: number
  /** The round's rotation seed (uint32). */
  seed: number
  /** The L2 norm every vector is clipped to. */
  range: number
}

/** What one participant's vector becomes: its level indices, and how many entries were clamped. */
export interface RingInput {
  indices: Uint32Array
  clamped: number
}

/** Clips `values` to norm `range`, rotates, and rounds each entry stochastically to an index. */
export function quantizeRing(
  values: ArrayLike<number>,
  { bits, seed, range }: RingSettings,
  random: () => number = Math.random,
): RingInput {
  let norm2 = 0
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!
    if (!Number.isFinite(x)) throw invalid(`values.${i}`, 'not a finite number')
    norm2 += x * x
  }
  const clip = norm2 > range * range ? range / Math.sqrt(norm2) : 1
  const indices = new Uint32Array(ringLength(values.length))
  const top = 2 ** bits - 1
  let clamped = 0
  for (const block of bbitBlocks(values.length)) {
    const y = new Float64Array(block.size)
    for (let i = 0; i < block.filled; i++) y[i] = values[block.offset + i]! * clip
    rotateInPlace(y, seed, block.offset)
    const r = blockRange(range, block.size)
    const step = (2 * r) / top
    for (let i = 0; i < block.size; i++) {
      let u = (y[i]! + r) / step
      if (u < 0 || u > top) {
        clamped++
        u = u < 0 ? 0 : top
      }
      const low = Math.floor(u)
      indices[block.offset + i] = low + (low < top && random() < u - low ? 1 : 0)
    }
  }
  return { indices, clamped }
}

/** What a participant's indices stand for: its quantized vector, unrotated (float64). */
export function dequantizeRing(
  indices: Uint32Array,
  length: number,
  settings: RingSettings,
): Float64Array {
  return dequantizeRingSum(indices, 1, length, settings)
}

/**
 * The sum of `count` participants' quantized vectors from the sum of their indices taken in the
 * ring of `ringBits(bits, count')` bits (the caller reduces it): Δ·K − count·R per rotated entry,
 * then each block unrotated. Exact up to float64 rounding.
 */
export function dequantizeRingSum(
  sum: Uint32Array,
  count: number,
  length: number,
  { bits, seed, range }: RingSettings,
): Float64Array {
  if (sum.length !== ringLength(length))
    throw invalid('sum', `${sum.length} words, ${ringLength(length)} expected`)
  const out = new Float64Array(length)
  const top = 2 ** bits - 1
  for (const block of bbitBlocks(length)) {
    const r = blockRange(range, block.size)
    const step = (2 * r) / top
    const y = new Float64Array(block.size)
    for (let i = 0; i < block.size; i++) y[i] = sum[block.offset + i]! * step - count * r
    unrotateInPlace(y, seed, block.offset)
    out.set(y.subarray(0, block.filled), block.offset)
  }
  return out
}

/**
 * The most the dequantized mean of any number of participants can be from the mean of their
 * clipped vectors, in L2 norm, when nothing was clamped: each rotated entry's rounding is off by
 * less than Δ, so the mean's rotated error is under Δ per entry, and rotation keeps norms.
 */
export function ringErrorBound(length: number, bits: number, range: number): number {
  let square = 0
  for (const block of bbitBlocks(length))
    square += block.size * blockStep(range, block.size, bits) ** 2
  return Math.sqrt(square)
}

/**
 * The expected squared L2 error of the mean of `count` participants' vectors (nothing clamped):
 * stochastic rounding's variance is at most Δ²/4 an entry, independent across participants.
 */
export const ringMeanSquareBound = (
  length: number,
  bits: number,
  range: number,
  count: number,
): number => ringErrorBound(length, bits, range) ** 2 / (4 * count)

/** Keeps the low `m` bits of each word: the ring's sum from the sum modulo 2^32. */
export function reduceRing(words: Uint32Array, m: number): Uint32Array {
  const mask = m >= 32 ? 0xffffffff : 2 ** m - 1
  for (let i = 0; i < words.length; i++) words[i] = (words[i]! & mask) >>> 0
  return words
}

/** Packs words of `m` bits (their low m bits) LSB-first: ⌈length·m/8⌉ bytes. */
export function packWords(words: Uint32Array, m: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((words.length * m) / 8))
  let bit = 0
  for (let i = 0; i < words.length; i++) {
    let w = m >= 32 ? words[i]! : words[i]! & (2 ** m - 1)
    let left = m
    while (left > 0) {
      const byte = bit >>> 3
      const shift = bit & 7
      const take = Math.min(8 - shift, left)
      out[byte] = out[byte]! | ((w & ((1 << take) - 1)) << shift)
      w = Math.floor(w / 2 ** take)
      left -= take
      bit += take
    }
  }
  return out
}

/** Unpacks `length` words of `m` bits written by packWords. */
export function unpackWords(bytes: Uint8Array, length: number, m: number): Uint32Array {
  if (bytes.length !== Math.ceil((length * m) / 8))
    throw invalid('masked', `${bytes.length} bytes, ${Math.ceil((length * m) / 8)} expected`)
  const out = new Uint32Array(length)
  let bit = 0
  for (let i = 0; i < length; i++) {
    let w = 0
    let got = 0
    while (got < m) {
      const byte = bit >>> 3
      const shift = bit & 7
      const take = Math.min(8 - shift, m - got)
      w += ((bytes[byte]! >>> shift) & ((1 << take) - 1)) * 2 ** got
      got += take
      bit += take
    }
    out[i] = w
  }
  // Spare bits past the last word must be zero, so each frame has one spelling.
  const spare = bytes.length * 8 - length * m
  if (spare > 0 && bytes[bytes.length - 1]! >>> (8 - spare) !== 0)
    throw invalid('masked', 'non-zero bits past the last word')
  return out
}

/** Words a round masks: the vector's length, or its rotated blocks' in a b-bit round. */
export const maskedWords = (config: { length: number; bits?: number | undefined }): number =>
  config.bits === undefined ? config.length : ringLength(config.length)

/** Bits a masked word carries on the wire: 32, or the ring's in a b-bit round. */
export const maskedBits = (config: { participants: number; bits?: number | undefined }): number =>
  config.bits === undefined ? 32 : ringBits(config.bits, config.participants)

/**
 * A secure task's b-bit setting from its accepted upload codecs: `{ bits }` where it accepts a
 * bbitB codec (task.ts lets a secure task name one codec alone), `{}` for fixed point.
 */
export function secureBits(uploads: readonly Codec[]): { bits?: number } {
  const bits = uploads.map(bbitBits).find((b) => b !== null)
  return bits ? { bits } : {}
}
