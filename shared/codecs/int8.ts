/**
 * int8 with a scale per block, stochastically rounded.
 *
 * The entries are cut into blocks of `blockSize` (the last one may be shorter). A block's scale is
 * s = max |x| / 127 as a float32, nudged up by one ulp where float32 rounding put it below that,
 * so every x / s lies in [−127, 127]; an entry becomes q = ⌊x / s⌋ + 1 with probability
 * x / s − ⌊x / s⌋, else ⌊x / s⌋, and decodes to q · s.
 *
 * - Bytes (no header: the container carries the length, the block size and the seed): the
 *   ⌈n / blockSize⌉ scales as float32 little-endian, then the n entries as int8 (two's
 *   complement, −127..127; −128 is refused). 1 + 4 / blockSize bytes per entry (1.016 at 256).
 * - Bias: none. E[q] = x / s, so E[decode(encode(x))] = x per entry, up to the uniforms'
 *   resolution (2⁻³² of a step) and the float32 rounding of q · s on decode (≤ 2⁻²⁴ relative).
 * - Error bound: |decode(encode(x)) − x| < s = max |x in its block| / 127 (one step) per entry;
 *   the variance per entry is s² · p(1 − p) ≤ s² / 4, p the fractional part of x / s.
 * - The seed drives the rounding only: decoding does not need it, and the same seed and input
 *   give the same bytes, so an encode can be replayed.
 */
import { checkInteger, checkLength, codecError } from './limits.ts'
import { type Random, seededUniform } from './random.ts'

export const DEFAULT_BLOCK_SIZE = 256
export const MAX_BLOCK_SIZE = 65536
const LEVELS = 127

export interface Int8Options {
  /** Entries per scale, in [1, 65536]. */
  blockSize?: number
}

export interface Int8EncodeOptions extends Int8Options {
  /** A uint32 seeding the rounding; the frame carries it, decoding does not need it. */
  seed: number
}

export const int8BlockCount = (length: number, blockSize: number) => Math.ceil(length / blockSize)

/** The frame's size for `length` entries. */
export const int8Bytes = (length: number, blockSize = DEFAULT_BLOCK_SIZE): number =>
  4 * int8BlockCount(length, blockSize) + length

function checkBlockSize(blockSize: number): void {
  checkInteger(blockSize, 'blockSize', 1, MAX_BLOCK_SIZE)
}

/** Encodes `values`, rounding stochastically from `seed`. */
export function encodeInt8(
  values: Float32Array,
  { seed, blockSize = DEFAULT_BLOCK_SIZE }: Int8EncodeOptions,
): Uint8Array<ArrayBuffer> {
  return quantizeInt8(values, blockSize, seededUniform(seed))
}

/**
 * Encodes with uniforms from `uniform`, the rounding's one source of randomness: a seeded one
 * for `encodeInt8`, a constant 0.5 for rounding to nearest (what the tests show is biased).
 */
export function quantizeInt8(
  values: Float32Array,
  blockSize: number,
  uniform: Random,
): Uint8Array<ArrayBuffer> {
  checkLength(values.length, 'values.length')
  checkBlockSize(blockSize)
  const blocks = int8BlockCount(values.length, blockSize)
  const out = new Uint8Array(4 * blocks + values.length)
  const scales = new DataView(out.buffer, 0, 4 * blocks)
  const entries = new Int8Array(out.buffer, 4 * blocks)
  for (let block = 0; block < blocks; block++) {
    const start = block * blockSize
    const end = Math.min(start + blockSize, values.length)
    const scale = blockScale(values, start, end)
    scales.setFloat32(4 * block, scale, true)
    if (scale === 0) continue // a block of zeros: its entries stay 0
    for (let i = start; i < end; i++) {
      const q = values[i]! / scale
      const floor = Math.floor(q)
      entries[i] = uniform() < q - floor ? floor + 1 : floor
    }
  }
  return out
}

/** max |x| / 127 over values[start, end) as a float32 no smaller than that; NaN/∞ refused. */
function blockScale(values: Float32Array, start: number, end: number): number {
  let max = 0
  for (let i = start; i < end; i++) {
    const magnitude = Math.abs(values[i]!)
    if (!(magnitude <= Number.MAX_VALUE)) throw codecError(`values.${i}`, `is ${values[i]}`)
    if (magnitude > max) max = magnitude
  }
  let scale = Math.fround(max / LEVELS)
  // Float32 rounding may land below max / 127 (or at 0 for tiny blocks); one step up fixes it.
  while (max / scale > LEVELS) scale = nextFloat32Up(scale)
  return scale
}

const bits = new Uint32Array(1)
const asFloat = new Float32Array(bits.buffer)

/** The next float32 above a finite non-negative float32. */
function nextFloat32Up(x: number): number {
  asFloat[0] = x
  bits[0]! += 1
  return asFloat[0]
}

/** The `length` entries `bytes` holds, encoded with `blockSize`. */
export function decodeInt8(
  bytes: Uint8Array,
  length: number,
  { blockSize = DEFAULT_BLOCK_SIZE }: Int8Options = {},
): Float32Array<ArrayBuffer> {
  checkInt8Frame(bytes, length, blockSize)
  const out = new Float32Array(length)
  decodeInt8Blocks(bytes, length, blockSize, 0, int8BlockCount(length, blockSize), out)
  return out
}

/** Refuses a frame whose size is not that of `length` entries in blocks of `blockSize`. */
export function checkInt8Frame(bytes: Uint8Array, length: number, blockSize: number): void {
  checkLength(length, 'length')
  checkBlockSize(blockSize)
  const expected = int8Bytes(length, blockSize)
  if (bytes.length !== expected)
    throw codecError('bytes', `holds ${bytes.length} bytes, ${length} entries need ${expected}`)
}

/**
 * Decodes blocks [from, to) of a frame `checkInt8Frame` passed into `out` from its start, giving
 * back their entry count: a streaming reader decodes a few blocks at a time into one buffer.
 */
export function decodeInt8Blocks(
  bytes: Uint8Array,
  length: number,
  blockSize: number,
  from: number,
  to: number,
  out: Float32Array,
): number {
  const blocks = int8BlockCount(length, blockSize)
  const scales = new DataView(bytes.buffer, bytes.byteOffset, 4 * blocks)
  const start = from * blockSize
  const end = Math.min(to * blockSize, length)
  const entries = new Int8Array(bytes.buffer, bytes.byteOffset + 4 * blocks + start, end - start)
  for (let block = from; block < to; block++) {
    const scale = scales.getFloat32(4 * block, true)
    if (!(scale >= 0 && scale <= 3.4028234663852886e38))
      throw codecError(`bytes.scales.${block}`, `is ${scale}, not a finite scale ≥ 0`)
    const blockEnd = Math.min((block + 1) * blockSize, length) - start
    for (let i = block * blockSize - start; i < blockEnd; i++) {
      const q = entries[i]!
      if (q < -LEVELS) throw codecError(`bytes.entries.${start + i}`, `is ${q}, outside −127..127`)
      out[i] = q * scale
    }
  }
  return end - start
}
