/**
 * A compressed update read without a float32 copy of it (issue 18): the frames are checked and
 * their L2 norm computed from the bytes, and a reader then walks the decoded entries block by
 * block through one scratch buffer it reuses (`forEachBlock`), so a running sum adds an update
 * in O(block) memory beyond the sum itself.
 *
 * The norm is the one `l2Norm` gives on the decoded tensors, bit for bit, for float16 (each
 * half's exact value), int8 (each q·s rounded to float32, as decoding does) and top-k (its
 * values; the zeros add nothing). For b-bit it is read in the rotated domain (the rotation is
 * orthogonal): ‖S·q‖ for each full block, plus the padded last block (under 1024 entries)
 * decoded; it differs from l2Norm's by the float32 rounding of the entries (≈2⁻²⁴ relative).
 * A b-bit block whose norm exceeds float32's largest value is refused: every entry of a block
 * is at most its norm, so below that none decodes to ±Infinity and the walk cannot fail.
 */
import {
  bbitFrame,
  type BbitFrame,
  bbitRotatedNorm2,
  checkInt8Frame,
  decodeBbitBlock,
  decodeInt8Blocks,
  forEachTopK,
  halfValue,
  int8BlockCount,
  MAX_BLOCK_SIZE,
} from '../codecs/index.ts'
import { bbitBits, FrameError, type FrameParameters, frameBytes } from './frames.ts'
import { type NamedTensor, tensorSize } from './named-tensor.ts'

const FLOAT32_MAX = 3.4028234663852886e38

/** A checked compressed update: header, payload (views of the upload's bytes), norm, scalings. */
export class EncodedTensors {
  /** Use readEncoded: only a frame that passed its checks is one. */
  private constructor(
    readonly header: FrameParameters,
    readonly payload: Uint8Array,
    /** ‖decoded‖₂ before `factors` (see the module's comment for b-bit's rounding). */
    readonly norm: number,
    /** Float32 scalings applied to each decoded entry in turn, as scaleTensors would. */
    readonly factors: readonly number[],
  ) {}

  /** @internal readEncoded's constructor. */
  static make(header: FrameParameters, payload: Uint8Array, norm: number): EncodedTensors {
    return new EncodedTensors(header, payload, norm, [])
  }

  /** The names and shapes of the tensors, in order. */
  get tensors(): readonly { name: string; shape: readonly number[] }[] {
    return this.header.tensors
  }

  get length(): number {
    return this.header.tensors.reduce((n, t) => n + tensorSize(t.shape), 0)
  }

  /** The same update times `factor` (rounded to float32 per entry, as an in-place scale is). */
  scaled(factor: number): EncodedTensors {
    if (factor === 1) return this
    return new EncodedTensors(this.header, this.payload, this.norm, [...this.factors, factor])
  }
}

/** An update's tensors: decoded float32 ones, or a compressed update read lazily. */
export type UpdateTensors = readonly NamedTensor[] | EncodedTensors

export const isEncoded = (u: UpdateTensors): u is EncodedTensors => u instanceof EncodedTensors

/** Scratch buffers a reader reuses from block to block (and update to update). */
export class BlockScratch {
  private single = new Float32Array(1)
  private f32 = new Float32Array(0)
  private f64 = new Float64Array(0)
  one(): Float32Array {
    return this.single
  }
  float32(n: number): Float32Array {
    if (this.f32.length < n) this.f32 = new Float32Array(n)
    return this.f32
  }
  float64(n: number): Float64Array {
    if (this.f64.length < n) this.f64 = new Float64Array(n)
    return this.f64
  }
}

/** Entries decoded at once where a codec has no blocks of its own (float16). */
const CHUNK = MAX_BLOCK_SIZE

let halves: Float32Array | null = null
/** Every half's value by its 16 bits, built once (256 KiB): decoding is then a lookup. */
function halfTable(): Float32Array {
  if (halves) return halves
  halves = new Float32Array(65536)
  for (let bits = 0; bits < 65536; bits++) halves[bits] = halfValue(bits)
  return halves
}

/**
 * Calls `visit(start, values, count)` for the decoded entries in order: `values[0, count)` are
 * the entries from `start` in the flat update (all tensors back to back). `values` is scratch,
 * overwritten by the next call. A frame that fails a check throws its codec's RangeError (b-bit's
 * full blocks are checked by readEncoded, not here); for top-k only the kept entries are visited.
 */
export function forEachBlock(
  encoded: Pick<EncodedTensors, 'header' | 'payload'>,
  scratch: BlockScratch,
  visit: (start: number, values: Float32Array | Float64Array, count: number) => void,
  onTensor: (i: number) => void = () => {},
): void {
  const { header: p, payload } = encoded
  const bits = bbitBits(p.codec)
  const sizes = p.tensors.map((t) => tensorSize(t.shape))
  if (bits !== null) {
    const length = sizes.reduce((a, b) => a + b, 0)
    if (length === 0) return
    const frame = bbitFrame(payload, { bits, seed: p.seed!, length })
    const y = scratch.float64(Math.max(...frame.blocks.map((b) => b.size)))
    frame.blocks.forEach((block, b) => {
      decodeBbitBlock(frame, b, y)
      visit(block.offset, y, block.filled)
    })
    return
  }
  let start = 0
  let at = 0
  for (const [i, n] of sizes.entries()) {
    onTensor(i)
    const length = frameBytes(p, n, p.tensors[i]!.k ?? 0)
    const frame = payload.subarray(at, (at += length))
    visitFrame(p, frame, n, start, scratch, visit)
    start += n
  }
}

function visitFrame(
  p: FrameParameters,
  frame: Uint8Array,
  n: number,
  start: number,
  scratch: BlockScratch,
  visit: (start: number, values: Float32Array, count: number) => void,
): void {
  if (p.codec === 'topk') {
    const one = scratch.one()
    forEachTopK(frame, n, (index, value) => {
      one[0] = value
      visit(start + index, one, 1)
    })
    return
  }
  if (p.codec === 'int8') {
    const blockSize = p.blockSize!
    checkInt8Frame(frame, n, blockSize)
    // Whole blocks, as many as fit in a chunk (at least one: blockSize ≤ MAX_BLOCK_SIZE).
    const step = Math.max(1, Math.floor(CHUNK / blockSize))
    const out = scratch.float32(Math.min(step * blockSize, n))
    const blocks = int8BlockCount(n, blockSize)
    for (let block = 0; block < blocks; block += step) {
      const to = Math.min(block + step, blocks)
      visit(start + block * blockSize, out, decodeInt8Blocks(frame, n, blockSize, block, to, out))
    }
    return
  }
  const table = halfTable()
  const out = scratch.float32(Math.min(CHUNK, n))
  for (let from = 0; from < n; from += CHUNK) {
    const count = Math.min(CHUNK, n - from)
    for (let i = 0; i < count; i++) {
      const j = 2 * (from + i)
      out[i] = table[frame[j]! | (frame[j + 1]! << 8)]!
    }
    visit(start + from, out, count)
  }
}

/**
 * Checks a compressed payload (exactly `payloadBytes(p)` long; `p` a header decodeContainerHeader
 * passed) and computes its norm, holding no more than a block: every frame the codec refuses,
 * and every entry that decodes to NaN or ±Infinity, is a FrameError naming the tensor (`payload`
 * for b-bit's one frame), as decodeFrames names them.
 */
export function readEncoded(
  p: FrameParameters,
  payload: Uint8Array,
  scratch = new BlockScratch(),
): EncodedTensors {
  const bits = bbitBits(p.codec)
  const norm2 = bits === null ? perTensorNorm2(p, payload, scratch) : bbitNorm2(p, payload, bits)
  return EncodedTensors.make(p, payload, Math.sqrt(norm2))
}

function perTensorNorm2(p: FrameParameters, payload: Uint8Array, scratch: BlockScratch): number {
  let tensor = 0
  let sum = 0
  let tensorStart = 0
  // Where each tensor starts in the flat update, once (not summed again per tensor).
  const starts: number[] = []
  let at = 0
  for (const t of p.tensors) {
    starts.push(at)
    at += tensorSize(t.shape)
  }
  try {
    forEachBlock(
      { header: p, payload },
      scratch,
      (start, values, count) => {
        for (let i = 0; i < count; i++) {
          const v = values[i]!
          if (!Number.isFinite(v)) {
            const entry = start - tensorStart + i
            const { name } = p.tensors[tensor]!
            throw new FrameError(`tensors[${tensor}]`, `${name}: entry ${entry} decodes to ${v}`)
          }
          sum += v * v
        }
      },
      (i) => {
        tensor = i
        tensorStart = starts[i]!
      },
    )
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    const name = p.tensors[tensor]!.name
    throw new FrameError(`tensors[${tensor}]`, `${name}: ${error.message}`)
  }
  return sum
}

function bbitNorm2(p: FrameParameters, payload: Uint8Array, bits: number): number {
  const length = p.tensors.reduce((n, t) => n + tensorSize(t.shape), 0)
  if (length === 0) return 0
  try {
    const frame = bbitFrame(payload, { bits, seed: p.seed!, length })
    return frame.blocks.reduce((sum, block, b) => sum + bbitBlockNorm2(frame, b), 0)
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    throw new FrameError('payload', error.message)
  }
}

/** Block b's squared norm: a padded block (under 1024 entries) decoded, a full one rotated. */
function bbitBlockNorm2(frame: BbitFrame, b: number): number {
  const block = frame.blocks[b]!
  if (block.filled < block.size) {
    const y = new Float64Array(block.size)
    decodeBbitBlock(frame, b, y)
    let sum = 0
    for (let i = 0; i < block.filled; i++) sum += y[i]! * y[i]!
    return sum
  }
  const norm2 = bbitRotatedNorm2(frame, b)
  if (!(norm2 <= FLOAT32_MAX * FLOAT32_MAX))
    throw new RangeError(`block ${b}'s norm ${Math.sqrt(norm2)} exceeds float32's range`)
  return norm2
}

/** The update's float32 tensors, decoded in full (a robust rule keeps every update whole). */
export function decodeEncoded(encoded: EncodedTensors): NamedTensor[] {
  const flat = new Float32Array(encoded.length)
  const { factors } = encoded
  forEachBlock(encoded, new BlockScratch(), (start, values, count) => {
    for (let i = 0; i < count; i++) {
      let v = values[i]!
      for (const f of factors) v = Math.fround(v * f)
      flat[start + i] = v
    }
  })
  let at = 0
  return encoded.tensors.map(({ name, shape }) => {
    const data = flat.subarray(at, (at += tensorSize(shape)))
    return { name, shape: [...shape], dtype: 'float32' as const, data }
  })
}

/** The tensors of `u`, decoded where they are compressed. */
export const materialize = (u: UpdateTensors): NamedTensor[] =>
  isEncoded(u) ? decodeEncoded(u) : [...u]
