/**
 * b bits an entry (b = 1..4) after a seeded randomized Hadamard rotation, scaled as EDEN does
 * (Vargaftik et al. 2022; for b = 1 it is DRIVE, Vargaftik et al. 2021).
 *
 * Encoding a block x of n entries (n a power of two): y = R·x (`hadamard.ts`), so ‖y‖ = ‖x‖ and
 * y's coordinates are close to N(0, ‖x‖²/n). Each y_i·√n/‖x‖ goes to the nearest of the 2^b
 * Lloyd–Max levels for N(0, 1) (Max 1960: the levels that minimize the expected squared error
 * for a Gaussian), giving q; the one scale sent is S = ‖x‖² / ⟨y, q⟩. Decoding is
 * x̂ = Rᵀ·(S·q). For b = 1, q = ±√(2/π) and S·q = sign(y)·‖x‖²/‖y‖₁: DRIVE's unbiased scale.
 *
 * Bias: the scale makes ⟨x̂, x⟩ = ‖x‖² on every decoding, so nothing is lost along x. Under a
 * uniformly random rotation E[x̂] = x exactly (EDEN Thm 2.1: the rotation's symmetry cancels the
 * rest). The randomized Hadamard rotation draws from only 2^n sign patterns, so here the codec is
 * unbiased approximately: measured over 3000 seeds, ‖E[x̂] − x‖/‖x‖ was about 1% for a
 * 1024-entry heavy-tailed vector at 1 bit (0.6% at 4096 entries, under 0.2% at 3 bits) against
 * a single decoding's 75%, and 1 to 2% for blocks of 8 to 64 entries. The tests hold the
 * mean of 300 decodings to x within sampling error. The seed is the round's, so the expectation
 * is over rounds: the devices of one round share one rotation, and their errors are not
 * independent draws of it.
 *
 * Error: for every vector, ‖x̂ − x‖²/‖x‖² = ‖y‖²‖q‖²/⟨y, q⟩² − 1 = tan² of the angle between y
 * and q (S·⟨y, q⟩ = ‖y‖² makes the cross term cancel); for b = 1 that is at most n − 1 for any input (‖y‖₁ ≥ ‖y‖₂). For a
 * large block it is close to D_b/(1 − D_b), D_b the levels' distortion for N(0, 1):
 * 0.571 (π/2 − 1), 0.133, 0.0358 and 0.00959 for b = 1..4 (`BBIT_EXPECTED_NMSE`; tested).
 *
 * Layout: a vector is cut into blocks of the powers of two in its length's binary expansion
 * down to `SMALLEST_BLOCK`, and the rest (under `SMALLEST_BLOCK` entries) zero-padded to the
 * next power of two, so padding costs under `SMALLEST_BLOCK` entries instead of up to the whole
 * length again. Each block has its own scale and its own signs (its offset in the layout). The
 * bytes are the blocks' float32 scales (little-endian), then every entry's level index, b bits
 * each, packed LSB-first. The seed is not stored: it is the round's, passed in.
 */
import {
  checkLength,
  checkSeed,
  MAX_CODEC_LENGTH,
  nextPowerOfTwo,
  rotateInPlace,
  unrotateInPlace,
} from './hadamard.ts'

/** The smallest block cut from a long vector; below it the Gaussian approximation weakens. */
export const SMALLEST_BLOCK = 1024

/** The positive half of the Lloyd–Max levels for N(0, 1), by bits; the rest are their negatives. */
const POSITIVE_LEVELS: Record<number, readonly number[]> = {
  1: [0.797885],
  2: [0.45278, 1.510418],
  3: [0.245094, 0.756005, 1.343909, 2.151946],
  4: [0.128395, 0.388048, 0.656759, 0.94234, 1.256231, 1.618046, 2.069017, 2.73259],
}

/** The 2^b levels in ascending order: an entry's index b bits wide picks one. */
export const BBIT_LEVELS: Record<number, Float64Array> = Object.fromEntries(
  Object.entries(POSITIVE_LEVELS).map(([bits, half]) => [
    bits,
    Float64Array.from([...half.map((v) => -v).reverse(), ...half]),
  ]),
)

/** D_b/(1 − D_b): the expected ‖x̂ − x‖²/‖x‖² of a large block, by bits. */
export const BBIT_EXPECTED_NMSE: Record<number, number> = {
  1: 0.570796,
  2: 0.133121,
  3: 0.035784,
  4: 0.009592,
}

export interface BbitOptions {
  /** Bits an entry, 1..4. */
  bits: number
  /** The round's rotation seed, a 32-bit unsigned integer; decoding needs the same one. */
  seed: number
}

/** One rotated block: `size` entries (a power of two) at `offset`, the first `filled` real. */
export interface BbitBlock {
  offset: number
  size: number
  filled: number
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 4) {
    throw new RangeError(`bits must be an integer in 1..4, got ${bits}`)
  }
}

/** How a vector of `length` entries is cut into rotated blocks (see the layout above). */
export function bbitBlocks(length: number): BbitBlock[] {
  checkLength(length)
  const blocks: BbitBlock[] = []
  let offset = 0
  for (let size = MAX_CODEC_LENGTH; size >= SMALLEST_BLOCK; size /= 2) {
    if (length - offset < size) continue
    blocks.push({ offset, size, filled: size })
    offset += size
  }
  const rest = length - offset
  if (rest > 0) blocks.push({ offset, size: nextPowerOfTwo(rest), filled: rest })
  return blocks
}

/** The encoded size: a float32 scale a block, then b bits for every entry of every block. */
export function bbitByteLength(length: number, bits: number): number {
  checkBits(bits)
  const blocks = bbitBlocks(length)
  const entries = blocks.reduce((sum, block) => sum + block.size, 0)
  return 4 * blocks.length + Math.ceil((entries * bits) / 8)
}

/** The index of the level nearest z (levels ascending; the boundaries are the midpoints). */
function nearestLevel(levels: Float64Array, z: number): number {
  let index = 0
  while (index < levels.length - 1) {
    const here = levels[index] as number
    const next = levels[index + 1] as number
    if (z < (here + next) / 2) break
    index++
  }
  return index
}

/** Writes `index` as the `entry`-th b-bit field of `packed`, LSB-first. */
function writeField(packed: Uint8Array, entry: number, bits: number, index: number): void {
  const position = entry * bits
  const byte = position >>> 3
  const shift = position & 7
  packed[byte] = (packed[byte] as number) | (index << shift)
  if (shift + bits > 8) packed[byte + 1] = (packed[byte + 1] as number) | (index >>> (8 - shift))
}

function readField(packed: Uint8Array, entry: number, bits: number): number {
  const position = entry * bits
  const byte = position >>> 3
  const window = (packed[byte] as number) | ((packed[byte + 1] ?? 0) << 8)
  return (window >>> (position & 7)) & ((1 << bits) - 1)
}

/** Quantizes one rotated block into `packed` from entry `offset` on; returns its scale S. */
function quantizeBlock(
  y: Float64Array,
  norm2: number,
  offset: number,
  bits: number,
  packed: Uint8Array,
): number {
  if (norm2 === 0) return 0
  const levels = BBIT_LEVELS[bits] as Float64Array
  const unit = Math.sqrt(y.length / norm2)
  let dot = 0
  for (let i = 0; i < y.length; i++) {
    const yi = y[i] as number
    const index = nearestLevel(levels, yi * unit)
    dot += yi * (levels[index] as number)
    writeField(packed, offset + i, bits, index)
  }
  return norm2 / dot
}

/** Encodes `values` in `bits` bits an entry plus a float32 scale a block (see the layout). */
export function encodeBbit(values: Float32Array, { bits, seed }: BbitOptions): Uint8Array {
  checkBits(bits)
  checkSeed(seed)
  const blocks = bbitBlocks(values.length)
  const out = new Uint8Array(bbitByteLength(values.length, bits))
  const scales = new DataView(out.buffer)
  const packed = out.subarray(4 * blocks.length)
  blocks.forEach((block, b) => {
    const y = new Float64Array(block.size)
    let norm2 = 0
    for (let i = 0; i < block.filled; i++) {
      const v = values[block.offset + i] as number
      if (!Number.isFinite(v))
        throw new RangeError(`values[${block.offset + i}] must be finite, got ${v}`)
      y[i] = v
      norm2 += v * v
    }
    rotateInPlace(y, seed, block.offset)
    const scale = Math.fround(quantizeBlock(y, norm2, block.offset, bits, packed))
    if (!Number.isFinite(scale))
      throw new RangeError(`values too large: block ${b}'s scale overflows float32`)
    scales.setFloat32(4 * b, scale, true)
  })
  return out
}

export interface BbitDecodeOptions extends BbitOptions {
  /** The vector's length, which the bytes do not carry (the model gives it). */
  length: number
}

/** A frame checked against its length and bits: what decoding reads, block by block. */
export interface BbitFrame {
  bits: number
  seed: number
  blocks: BbitBlock[]
  scales: DataView
  packed: Uint8Array
}

/** The frame `bytes` holds for a vector of `length` entries, or a RangeError if its size is not. */
export function bbitFrame(bytes: Uint8Array, { bits, seed, length }: BbitDecodeOptions): BbitFrame {
  checkSeed(seed)
  const expected = bbitByteLength(length, bits)
  if (bytes.length !== expected) {
    throw new RangeError(
      `bytes must be ${expected} long for ${length} entries at ${bits} bits, got ${bytes.length}`,
    )
  }
  const blocks = bbitBlocks(length)
  const scales = new DataView(bytes.buffer, bytes.byteOffset, 4 * blocks.length)
  return { bits, seed, blocks, scales, packed: bytes.subarray(4 * blocks.length) }
}

/** Block b's scale S, or a RangeError if it is not finite and ≥ 0. */
function blockScale(frame: BbitFrame, b: number): number {
  const scale = frame.scales.getFloat32(4 * b, true)
  if (!Number.isFinite(scale) || scale < 0) {
    throw new RangeError(`block ${b}'s scale must be finite and ≥ 0, got ${scale}`)
  }
  return scale
}

/**
 * ‖S·q‖² of block b, in the rotated domain: the squared norm of its decoding before the padding
 * is cut (the rotation is orthogonal), read without unrotating. A full block's decoding has
 * exactly this norm up to the float64 rounding of the transform and the float32 of the entries.
 */
export function bbitRotatedNorm2(frame: BbitFrame, b: number): number {
  const block = frame.blocks[b]!
  const scale = blockScale(frame, b)
  const levels = BBIT_LEVELS[frame.bits] as Float64Array
  let sum = 0
  for (let i = 0; i < block.size; i++) {
    const level = levels[readField(frame.packed, block.offset + i, frame.bits)] as number
    sum += level * level
  }
  return scale * scale * sum
}

/**
 * Decodes block b into y[0, filled), each entry rounded to float32 (y at least the block's size:
 * its padding is overwritten too). One scratch buffer serves every block of every frame.
 */
export function decodeBbitBlock(frame: BbitFrame, b: number, y: Float64Array): void {
  const block = frame.blocks[b]!
  const scale = blockScale(frame, b)
  const levels = BBIT_LEVELS[frame.bits] as Float64Array
  const v = y.subarray(0, block.size)
  for (let i = 0; i < block.size; i++)
    v[i] = scale * (levels[readField(frame.packed, block.offset + i, frame.bits)] as number)
  unrotateInPlace(v, frame.seed, block.offset)
  for (let i = 0; i < block.filled; i++) {
    const x = Math.fround(v[i] as number)
    if (!Number.isFinite(x)) throw new RangeError(`block ${b} decodes to a non-finite value`)
    v[i] = x
  }
}

/** Decodes what `encodeBbit` wrote for a vector of `length` entries with the same bits and seed. */
export function decodeBbit(bytes: Uint8Array, options: BbitDecodeOptions): Float32Array {
  const frame = bbitFrame(bytes, options)
  const out = new Float32Array(options.length)
  const y = new Float64Array(Math.max(0, ...frame.blocks.map((block) => block.size)))
  frame.blocks.forEach((block, b) => {
    decodeBbitBlock(frame, b, y)
    out.set(y.subarray(0, block.filled), block.offset)
  })
  return out
}
