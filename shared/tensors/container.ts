import { MAX_BLOCK_SIZE, MAX_ENTRIES } from '../codecs/index.ts'
import {
  bbitBits,
  type Codec,
  type CodecOptions,
  CODECS,
  decodeFrames,
  encodeFrames,
  FrameError,
  type FrameParameters,
  payloadBytes,
  shortPart,
} from './frames.ts'
import { type BlockScratch, readEncoded, type UpdateTensors } from './encoded.ts'
import { tensorSize, type NamedTensor } from './named-tensor.ts'

export { bbitBits, CODECS, type Codec, type CodecOptions } from './frames.ts'

/**
 * One binary container for models and updates:
 *   'PLNT' | u32 version | u32 header length | UTF-8 JSON header | zero padding to 4 | payload
 * The header names the codec, each tensor's name, shape and dtype, and free metadata.
 * The payload is the tensors back to back, little-endian, in header order: float32 entries, or
 * the codec's frames (`frames.ts`), with what they need to decode in the header (int8's
 * `blockSize`, b-bit's `seed`, top-k's `k` per tensor). Decoding always gives float32 back.
 */
export const CONTAINER_MAGIC = 'PLNT'
export const CONTAINER_VERSION = 1

export type ContainerMetadata = Record<string, string | number | boolean>

export interface Container {
  codec: Codec
  tensors: NamedTensor[]
  metadata: ContainerMetadata
}

export type ContainerErrorCode =
  | 'bad-magic'
  | 'bad-version'
  | 'truncated'
  | 'bad-header'
  | 'unknown-codec'
  | 'size-mismatch'
  | 'bad-payload'

export class ContainerError extends Error {
  constructor(
    readonly code: ContainerErrorCode,
    message: string,
    /** The part at fault where one is known: `codec`, `tensors[1].k`, `tensors[0]`, `payload`. */
    readonly part?: string,
  ) {
    super(message)
    this.name = 'ContainerError'
  }
}

interface HeaderTensor {
  name: string
  shape: number[]
  dtype: 'float32'
  /** top-k's kept entries. */
  k?: number
}
interface Header extends FrameParameters {
  tensors: HeaderTensor[]
  metadata: ContainerMetadata
}

const PREAMBLE = 12
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
const pad4 = (n: number) => (4 - (n % 4)) % 4

export function encodeContainer(input: ContainerInput): Uint8Array {
  return encodeContainerWithResidual(input).bytes
}

export type ContainerInput = {
  tensors: readonly NamedTensor[]
  /** An optional field left undefined (as zod types them) is left out of the header. */
  metadata?: Readonly<Record<string, string | number | boolean | undefined>>
  codec?: Codec
} & CodecOptions

/**
 * `encodeContainer`, with top-k's new residual beside the bytes (one per tensor, in order):
 * what error feedback keeps for the next round. Absent for the other codecs.
 */
export function encodeContainerWithResidual(input: ContainerInput): {
  bytes: Uint8Array
  residual?: Float32Array[]
} {
  const codec = input.codec ?? 'float32'
  for (const t of input.tensors)
    if (t.data.length !== tensorSize(t.shape))
      throw new ContainerError('size-mismatch', `tensor ${t.name}: data does not match its shape`)
  const encoded = codec === 'float32' ? null : encodeWith(codec, input.tensors, input)
  // The reader's own checks: never write a container that decodeContainer would refuse. A
  // float32 header has codec, tensors and metadata only, so its bytes are what they always were.
  const header = checkHeader({
    codec,
    tensors: input.tensors.map(({ name, shape, dtype }, i) => ({
      name,
      shape: [...shape],
      dtype,
      ...(encoded?.k ? { k: encoded.k[i] } : {}),
    })),
    metadata: Object.fromEntries(
      Object.entries(input.metadata ?? {}).filter(([, value]) => value !== undefined),
    ) as ContainerMetadata,
    ...(encoded?.blockSize !== undefined ? { blockSize: encoded.blockSize } : {}),
    ...(encoded?.seed !== undefined ? { seed: encoded.seed } : {}),
  })
  const headerBytes = new TextEncoder().encode(JSON.stringify(header))
  const payloadStart = PREAMBLE + headerBytes.length + pad4(headerBytes.length)
  const bytes = new Uint8Array(payloadStart + payloadBytes(header))
  const view = new DataView(bytes.buffer)
  bytes.set(new TextEncoder().encode(CONTAINER_MAGIC), 0)
  view.setUint32(4, CONTAINER_VERSION, true)
  view.setUint32(8, headerBytes.length, true)
  bytes.set(headerBytes, PREAMBLE)
  let offset = payloadStart
  for (const frame of encoded?.frames ?? []) {
    bytes.set(frame, offset)
    offset += frame.length
  }
  if (!encoded)
    for (const t of input.tensors) {
      writeFloat32(bytes, offset, t.data)
      offset += t.data.length * 4
    }
  return { bytes, ...(encoded?.residual ? { residual: encoded.residual } : {}) }
}

/** The codec's frames, a value it cannot carry (NaN, a half's overflow) a ContainerError. */
function encodeWith(...[codec, tensors, options]: Parameters<typeof encodeFrames>) {
  try {
    return encodeFrames(codec, tensors, options)
  } catch (error) {
    if (error instanceof RangeError) throw new ContainerError('bad-payload', error.message)
    throw error
  }
}

/** Reads only the header: cheap validation before touching the payload. */
export function decodeContainerHeader(bytes: Uint8Array): Header & { payloadStart: number } {
  if (bytes.length < PREAMBLE) throw new ContainerError('truncated', 'shorter than the preamble')
  const magic = new TextDecoder().decode(bytes.subarray(0, 4))
  if (magic !== CONTAINER_MAGIC)
    throw new ContainerError('bad-magic', 'not a Pollen tensor container (bad magic)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint32(4, true)
  if (version !== CONTAINER_VERSION)
    throw new ContainerError('bad-version', `container version ${version} is not supported`)
  const headerLength = view.getUint32(8, true)
  if (PREAMBLE + headerLength > bytes.length)
    throw new ContainerError('truncated', 'header runs past the end of the data')
  let header: unknown
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(
        bytes.subarray(PREAMBLE, PREAMBLE + headerLength),
      ),
    )
  } catch {
    throw new ContainerError('bad-header', 'header is not valid UTF-8 JSON')
  }
  return { ...checkHeader(header), payloadStart: PREAMBLE + headerLength + pad4(headerLength) }
}

/**
 * Decodes a container. Float32 tensors may be views into `bytes`: copy before mutating either.
 * Other codecs' tensors are decoded into fresh float32 arrays of the header's shapes: a caller
 * holding untrusted bytes checks those shapes first (`decodeContainerHeader`), as a top-k frame
 * of a few bytes may describe a tensor of 2²⁷ entries.
 */
export function decodeContainer(bytes: Uint8Array): Container {
  const header = checkedLength(bytes)
  return { codec: header.codec, tensors: decodeTensors(header, bytes), metadata: header.metadata }
}

/**
 * Reads a container as an update is aggregated: float32 tensors as decodeContainer gives them,
 * a compressed payload checked and left encoded (`encoded.ts`): no float32 copy of it is made.
 * The same refusals as decodeContainer's, naming the same parts.
 */
export function readContainer(
  bytes: Uint8Array,
  scratch?: BlockScratch,
): { codec: Codec; tensors: UpdateTensors; metadata: ContainerMetadata } {
  const header = checkedLength(bytes)
  const { codec, metadata } = header
  if (codec === 'float32') return { codec, tensors: decodeTensors(header, bytes), metadata }
  try {
    return {
      codec,
      tensors: readEncoded(header, bytes.subarray(header.payloadStart), scratch),
      metadata,
    }
  } catch (error) {
    if (error instanceof FrameError)
      throw new ContainerError('bad-payload', `${error.part}: ${error.message}`, error.part)
    throw error
  }
}

/** The header of a container whose payload is exactly as long as the header says. */
function checkedLength(bytes: Uint8Array): Header & { payloadStart: number } {
  const header = decodeContainerHeader(bytes)
  const expected = header.payloadStart + payloadBytes(header)
  if (bytes.length < expected) {
    const part = shortPart(header, bytes.length - header.payloadStart)
    const why = `payload is ${expected - bytes.length} bytes short (${part} runs past the end)`
    throw new ContainerError('truncated', why, part)
  }
  if (bytes.length > expected) {
    const why = `${bytes.length - expected} bytes after the payload`
    throw new ContainerError('size-mismatch', why, 'payload')
  }
  return header
}

function decodeTensors(header: Header & { payloadStart: number }, bytes: Uint8Array) {
  let offset = header.payloadStart
  if (header.codec === 'float32')
    return header.tensors.map(({ name, shape, dtype }) => {
      const size = tensorSize(shape)
      const data = readFloat32(bytes, offset, size)
      offset += size * 4
      return { name, shape, dtype, data }
    })
  try {
    const decoded = decodeFrames(header, bytes.subarray(offset))
    return header.tensors.map(({ name, shape, dtype }, i) => ({
      name,
      shape,
      dtype,
      data: decoded[i]!,
    }))
  } catch (error) {
    if (error instanceof FrameError)
      throw new ContainerError('bad-payload', `${error.part}: ${error.message}`, error.part)
    throw error
  }
}

function checkHeader(value: unknown): Header {
  const fail = (why: string, part?: string): never => {
    throw new ContainerError('bad-header', why, part)
  }
  if (typeof value !== 'object' || value === null) return fail('header is not an object')
  const { codec, tensors, metadata } = value as Record<string, unknown>
  if (typeof codec !== 'string' || !(CODECS as readonly string[]).includes(codec))
    throw new ContainerError(
      'unknown-codec',
      `codec ${JSON.stringify(codec)} is not supported`,
      'codec',
    )
  if (!Array.isArray(tensors)) return fail('header.tensors is not a list')
  const names = new Set<string>()
  const checked = tensors.map((t: unknown, i): HeaderTensor => {
    const { name, shape, dtype } = (t ?? {}) as Record<string, unknown>
    if (typeof name !== 'string' || name.length === 0 || name.length > 500)
      return fail(`tensors[${i}].name is not a name`)
    if (names.has(name)) return fail(`tensors[${i}].name ${name} appears twice`)
    names.add(name)
    if (
      !Array.isArray(shape) ||
      shape.length > 8 ||
      !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0 && (d as number) < 2 ** 31)
    )
      return fail(`tensors[${i}].shape is not a list of sizes`)
    if (dtype !== 'float32') return fail(`tensors[${i}].dtype ${String(dtype)} is not float32`)
    return { name, shape: shape as number[], dtype }
  })
  const meta = metadata ?? {}
  if (typeof meta !== 'object' || Array.isArray(meta) || meta === null)
    return fail('header.metadata is not an object')
  for (const [k, v] of Object.entries(meta))
    if (
      !['string', 'number', 'boolean'].includes(typeof v) ||
      Number.isNaN(v) ||
      v === Infinity ||
      v === -Infinity
    )
      return fail(`metadata.${k} is not a string, finite number or boolean`)
  const header = { codec: codec as Codec, tensors: checked, metadata: meta as ContainerMetadata }
  return codec === 'float32' ? header : withCodecParameters(header, value, tensors, fail)
}

/**
 * A compressed codec's header: every tensor within the codecs' bound on entries (b-bit: all of
 * them together), and what its frames need to decode, each a whole number in its range.
 */
function withCodecParameters(
  header: Header,
  raw: object,
  rawTensors: unknown[],
  fail: (why: string, part?: string) => never,
): Header {
  const whole = (v: unknown, part: string, min: number, max: number): number =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : fail(`${part} must be a whole number in [${min}, ${max}], got ${JSON.stringify(v)}`, part)
  const sizes = header.tensors.map((t) => tensorSize(t.shape))
  const largest = bbitBits(header.codec) === null ? Math.max(0, ...sizes) : sum(sizes)
  if (largest > MAX_ENTRIES)
    fail(`${header.codec} takes at most ${MAX_ENTRIES} entries a frame, got ${largest}`, 'tensors')
  const { blockSize, seed } = raw as Record<string, unknown>
  if (header.codec === 'int8')
    return { ...header, blockSize: whole(blockSize, 'blockSize', 1, MAX_BLOCK_SIZE) }
  if (bbitBits(header.codec) !== null)
    return { ...header, seed: whole(seed, 'seed', 0, 2 ** 32 - 1) }
  if (header.codec !== 'topk') return header
  const tensors = header.tensors.map((t, i) => {
    const { k } = (rawTensors[i] ?? {}) as Record<string, unknown>
    return { ...t, k: whole(k, `tensors[${i}].k`, 0, sizes[i]!) }
  })
  return { ...header, tensors }
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)

function writeFloat32(bytes: Uint8Array, offset: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset)
    return
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  data.forEach((v, i) => view.setFloat32(offset + i * 4, v, true))
}

function readFloat32(bytes: Uint8Array, offset: number, size: number): Float32Array {
  // The payload is 4-byte aligned within the container: on little-endian hosts view it in place
  // when the container itself is aligned, rather than copying megabytes per update.
  if (LITTLE_ENDIAN_HOST && (bytes.byteOffset + offset) % 4 === 0)
    return new Float32Array(bytes.buffer, bytes.byteOffset + offset, size)
  const out = new Float32Array(size)
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + size * 4))
    return out
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  for (let i = 0; i < size; i++) out[i] = view.getFloat32(offset + i * 4, true)
  return out
}
