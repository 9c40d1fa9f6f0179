import { tensorSize, type NamedTensor } from './named-tensor.ts'

/**
 * One binary container for models and updates:
 *   'PLNT' | u32 version | u32 header length | UTF-8 JSON header | zero padding to 4 | payload
 * The header names the codec, each tensor's name, shape and dtype, and free metadata.
 * The payload is the tensors back to back, little-endian, in header order.
 */
export const CONTAINER_MAGIC = 'PLNT'
export const CONTAINER_VERSION = 1
export const CODECS = ['float32'] as const
export type Codec = (typeof CODECS)[number]

export type ContainerMetadata = Record<string, string | number | boolean>

export interface Container {
  codec: Codec
  tensors: NamedTensor[]
  metadata: ContainerMetadata
}

export type ContainerErrorCode =
  'bad-magic' | 'bad-version' | 'truncated' | 'bad-header' | 'unknown-codec' | 'size-mismatch'

export class ContainerError extends Error {
  constructor(
    readonly code: ContainerErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ContainerError'
  }
}

interface HeaderTensor {
  name: string
  shape: number[]
  dtype: 'float32'
}
interface Header {
  codec: Codec
  tensors: HeaderTensor[]
  metadata: ContainerMetadata
}

const PREAMBLE = 12
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
const pad4 = (n: number) => (4 - (n % 4)) % 4

export function encodeContainer(input: {
  tensors: readonly NamedTensor[]
  /** An optional field left undefined (as zod types them) is left out of the header. */
  metadata?: Readonly<Record<string, string | number | boolean | undefined>>
  codec?: Codec
}): Uint8Array {
  // The reader's own checks: never write a container that decodeContainer would refuse.
  const header = checkHeader({
    codec: input.codec ?? 'float32',
    tensors: input.tensors.map(({ name, shape, dtype }) => ({ name, shape: [...shape], dtype })),
    metadata: Object.fromEntries(
      Object.entries(input.metadata ?? {}).filter(([, value]) => value !== undefined),
    ) as ContainerMetadata,
  })
  const headerBytes = new TextEncoder().encode(JSON.stringify(header))
  const payloadStart = PREAMBLE + headerBytes.length + pad4(headerBytes.length)
  const payloadLength = input.tensors.reduce((n, t) => n + t.data.length * 4, 0)
  const bytes = new Uint8Array(payloadStart + payloadLength)
  const view = new DataView(bytes.buffer)
  bytes.set(new TextEncoder().encode(CONTAINER_MAGIC), 0)
  view.setUint32(4, CONTAINER_VERSION, true)
  view.setUint32(8, headerBytes.length, true)
  bytes.set(headerBytes, PREAMBLE)
  let offset = payloadStart
  for (const t of input.tensors) {
    if (t.data.length !== tensorSize(t.shape))
      throw new ContainerError('size-mismatch', `tensor ${t.name}: data does not match its shape`)
    writeFloat32(bytes, offset, t.data)
    offset += t.data.length * 4
  }
  return bytes
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

/** Decodes a container. The tensors may be views into `bytes`: copy before mutating either. */
export function decodeContainer(bytes: Uint8Array): Container {
  const header = decodeContainerHeader(bytes)
  const expected =
    header.payloadStart + header.tensors.reduce((n, t) => n + tensorSize(t.shape) * 4, 0)
  if (bytes.length < expected)
    throw new ContainerError('truncated', `payload is ${expected - bytes.length} bytes short`)
  if (bytes.length > expected)
    throw new ContainerError('size-mismatch', `${bytes.length - expected} bytes after the payload`)
  let offset = header.payloadStart
  const tensors = header.tensors.map((t) => {
    const size = tensorSize(t.shape)
    const data = readFloat32(bytes, offset, size)
    offset += size * 4
    return { ...t, data }
  })
  return { codec: header.codec, tensors, metadata: header.metadata }
}

function checkHeader(value: unknown): Header {
  const fail = (why: string): never => {
    throw new ContainerError('bad-header', why)
  }
  if (typeof value !== 'object' || value === null) return fail('header is not an object')
  const { codec, tensors, metadata } = value as Record<string, unknown>
  if (typeof codec !== 'string' || !(CODECS as readonly string[]).includes(codec))
    throw new ContainerError('unknown-codec', `codec ${JSON.stringify(codec)} is not supported`)
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
  return { codec: codec as Codec, tensors: checked, metadata: meta as ContainerMetadata }
}

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
