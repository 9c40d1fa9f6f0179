/**
 * The container's payload under each codec (`shared/codecs/` does the maths): how many bytes the
 * header's tensors take, how float32 tensors become those bytes, and how they become float32
 * tensors again, materialized (`encoded.ts` reads them block by block instead).
 *
 * - `float32`: each tensor's entries, 4 bytes each (what models and older updates are).
 * - `float16`: each tensor's entries as halves, 2 bytes each.
 * - `int8`: each tensor its own int8 frame (scales per `blockSize` entries, then the entries);
 *   the header carries `blockSize`, which decoding needs; the rounding's seed it does not.
 * - `bbit1`..`bbit4`: every tensor flattened into one vector, encoded as one b-bit frame after a
 *   randomized Hadamard rotation seeded by the header's `seed` (decoding needs it). One vector,
 *   not one per tensor: a small tensor rotated alone carries a 1–2% bias (`codecs/bbit.ts`), and
 *   a bias and its scale cost the same whatever the tensor.
 * - `topk`: each tensor its own frame of `k` (index, value) pairs, `k` per tensor in the header.
 *   The residual error feedback keeps is the sender's to hold: it goes in with `residual` and
 *   comes back out beside the frames, never onto the wire.
 * Frames lie back to back without padding: the codecs read bytes at any alignment.
 */
import {
  bbitByteLength,
  decodeBbit,
  decodeFloat16,
  decodeInt8,
  decodeTopK,
  DEFAULT_BLOCK_SIZE,
  encodeBbit,
  encodeFloat16,
  encodeInt8,
  encodeTopK,
  int8Bytes,
  TOPK_ENTRY_BYTES,
} from '../codecs/index.ts'
import { flattenTensors, type NamedTensor, tensorSize } from './named-tensor.ts'

export const CODECS = [
  'float32',
  'float16',
  'int8',
  'bbit1',
  'bbit2',
  'bbit3',
  'bbit4',
  'topk',
] as const
export type Codec = (typeof CODECS)[number]

/** A b-bit codec's bits an entry, else null. */
export const bbitBits = (codec: Codec): number | null =>
  codec.startsWith('bbit') ? Number(codec.slice(4)) : null

/** What the header says of one tensor: `k` only under `topk`. */
export interface FrameTensor {
  name: string
  shape: number[]
  k?: number
}

/** What a codec's frames need from the header beyond the tensors' shapes. */
export interface FrameParameters {
  codec: Codec
  tensors: readonly FrameTensor[]
  /** int8's entries per scale. */
  blockSize?: number
  /** b-bit's rotation seed. */
  seed?: number
}

/** How a sender encodes: the codecs' own knobs. */
export interface CodecOptions {
  /** int8's rounding and b-bit's rotation, a uint32; drawn at random when absent. */
  seed?: number
  /** int8's entries per scale, in [1, 65536] (default 256). */
  blockSize?: number
  /** top-k's share of each tensor's entries sent, in (0, 1] (default 1/100): k = ⌈keep · n⌉. */
  keep?: number
  /**
   * top-k's error feedback: the residual the sender kept, one per tensor in order (null: none),
   * added before the k largest are picked. Other codecs ignore it.
   */
  residual?: readonly (Float32Array | null)[] | null
}

const DEFAULT_KEEP = 0.01
/** The least magnitude a half rounds to Infinity from. */
const FLOAT16_OVERFLOW = 65520

/** The payload's size in bytes for a header's tensors (every size already within MAX_ENTRIES). */
export function payloadBytes(p: FrameParameters): number {
  const sizes = p.tensors.map((t) => tensorSize(t.shape))
  const bits = bbitBits(p.codec)
  if (bits !== null) {
    const total = sizes.reduce((a, b) => a + b, 0)
    return total === 0 ? 0 : bbitByteLength(total, bits)
  }
  return sizes.reduce((sum, n, i) => sum + frameBytes(p, n, p.tensors[i]!.k ?? 0), 0)
}

/**
 * The part a payload of `available` bytes runs short in: the first tensor whose frame passes the
 * end, or `payload` for b-bit's one frame.
 */
export function shortPart(p: FrameParameters, available: number): string {
  if (bbitBits(p.codec) !== null) return 'payload'
  let end = 0
  for (const [i, t] of p.tensors.entries()) {
    end += frameBytes(p, tensorSize(t.shape), t.k ?? 0)
    if (end > available) return `tensors[${i}]`
  }
  return 'payload'
}

/** One tensor's frame size: `n` entries (`k` kept under top-k). */
export function frameBytes(p: FrameParameters, n: number, k: number): number {
  switch (p.codec) {
    case 'float32':
      return 4 * n
    case 'float16':
      return 2 * n
    case 'int8':
      return int8Bytes(n, p.blockSize)
    default:
      return TOPK_ENTRY_BYTES * k
  }
}

const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0]!

/**
 * The header fields `codec` adds and the payload's frames for `tensors`, in order. Float32 is the
 * container's own: it is not encoded here.
 */
export function encodeFrames(
  codec: Exclude<Codec, 'float32'>,
  tensors: readonly NamedTensor[],
  {
    seed = randomSeed(),
    blockSize = DEFAULT_BLOCK_SIZE,
    keep = DEFAULT_KEEP,
    residual,
  }: CodecOptions,
): {
  blockSize?: number
  seed?: number
  k?: number[]
  frames: Uint8Array[]
  /** top-k's: what each tensor (plus its residual) kept back, for the next round. */
  residual?: Float32Array[]
} {
  const data = tensors.map((t) => t.data)
  const bits = bbitBits(codec)
  if (bits !== null) {
    const flat = flattenTensors(tensors)
    return { seed, frames: flat.length === 0 ? [] : [encodeBbit(flat, { bits, seed })] }
  }
  switch (codec) {
    case 'float16':
      return { frames: data.map((d, i) => encodeFloat16(inFloat16Range(d, tensors[i]!.name))) }
    case 'int8':
      return { blockSize, frames: data.map((d) => encodeInt8(d, { seed, blockSize })) }
    default: {
      if (!(keep > 0 && keep <= 1)) throw new RangeError(`keep: must be in (0, 1], got ${keep}`)
      if (residual && residual.length !== tensors.length)
        throw new RangeError(`residual: ${residual.length} tensors, the update ${tensors.length}`)
      const k = data.map((d) => Math.min(d.length, Math.ceil(keep * d.length)))
      const encoded = data.map((d, i) => encodeTopK(d, residual?.[i] ?? null, k[i]!))
      return { k, frames: encoded.map((e) => e.bytes), residual: encoded.map((e) => e.residual) }
    }
  }
}

/** `data` if every entry stays finite as a half (below 65520 in magnitude), else a RangeError. */
function inFloat16Range(data: Float32Array, name: string): Float32Array {
  const at = data.findIndex((v) => !(Math.abs(v) < FLOAT16_OVERFLOW))
  if (at >= 0) throw new RangeError(`${name}[${at}]: ${data[at]} is no finite float16`)
  return data
}

/** Where a frame's bytes disagree with what they should hold: the part and why. */
export class FrameError extends Error {
  constructor(
    readonly part: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The float32 entries of each tensor from `payload` (exactly `payloadBytes(p)` long), every one
 * finite: a frame the codec refuses, or one that decodes to NaN or ±Infinity, is a FrameError
 * naming the tensor (or `payload` for b-bit's one frame over all of them).
 */
export function decodeFrames(p: FrameParameters, payload: Uint8Array): Float32Array[] {
  const sizes = p.tensors.map((t) => tensorSize(t.shape))
  const bits = bbitBits(p.codec)
  if (bits !== null) {
    const total = sizes.reduce((a, b) => a + b, 0)
    const flat =
      total === 0
        ? new Float32Array(0)
        : refusing('payload', () => decodeBbit(payload, { bits, seed: p.seed!, length: total }))
    let offset = 0
    return sizes.map((n, i) => {
      const data = flat.subarray(offset, (offset += n))
      return checkFinite(data, i, p.tensors[i]!.name)
    })
  }
  let offset = 0
  return p.tensors.map((t, i) => {
    const n = sizes[i]!
    const length = frameBytes(p, n, t.k ?? 0)
    const frame = payload.subarray(offset, (offset += length))
    const data = refusing(`tensors[${i}]`, () => decodeFrame(p, frame, n), t.name)
    return checkFinite(data, i, t.name)
  })
}

function decodeFrame(p: FrameParameters, frame: Uint8Array, n: number): Float32Array {
  switch (p.codec) {
    case 'float16':
      return decodeFloat16(frame, n)
    case 'int8':
      return decodeInt8(frame, n, { blockSize: p.blockSize! })
    case 'topk':
      return decodeTopK(frame, n)
    default:
      throw new Error(`decodeFrame: ${p.codec} has no per-tensor frames`)
  }
}

/** `decode()`, a codec's RangeError becoming a FrameError naming `part`. */
function refusing<T>(part: string, decode: () => T, name?: string): T {
  try {
    return decode()
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    throw new FrameError(part, `${name === undefined ? '' : `${name}: `}${error.message}`)
  }
}

function checkFinite(data: Float32Array, i: number, name: string): Float32Array {
  for (let j = 0; j < data.length; j++)
    if (!Number.isFinite(data[j]))
      throw new FrameError(`tensors[${i}]`, `${name}: entry ${j} decodes to ${data[j]}`)
  return data
}
