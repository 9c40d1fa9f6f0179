import type { DatasetSpec } from '../../protocol/datasets.ts'
import { ByteBudget, gunzipLimited, isGzip } from './inflate.ts'
import { count, Problems, refuse } from './problems.ts'
import type { FileProblem, NamedFile, ReadLimits, ReadResult } from './types.ts'

/**
 * IDX, the MNIST family's format (MNIST, Fashion-MNIST, EMNIST, KMNIST): big-endian, a magic of
 * two zero bytes, a type byte (0x08: unsigned bytes, the only one read here) and the number of
 * dimensions, then each dimension as a u32, then the values. Images are n×rows×cols, labels n.
 */
export const IDX_IMAGES_MAGIC = 0x00000803
export const IDX_LABELS_MAGIC = 0x00000801

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
}

/** An IDX file's header, read and checked as far as the file alone allows. */
export interface IdxHeader {
  kind: 'images' | 'labels'
  dims: number[]
  /** Where the values start. */
  offset: number
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`

/** The header, or the problem with it (wrong magic, type, dimensions, size). */
export function readIdxHeader(file: string, bytes: Uint8Array): IdxHeader | FileProblem {
  if (bytes.length < 4) {
    return { file, field: 'magic', message: `${bytes.length} bytes: too short for an IDX file` }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magic = view.getUint32(0)
  const type = bytes[2]!
  const ndims = bytes[3]!
  const idxKinds = `an IDX images (${hex(IDX_IMAGES_MAGIC)}) or labels (${hex(IDX_LABELS_MAGIC)}) file`
  if (bytes[0] !== 0 || bytes[1] !== 0 || TYPE_NAMES[type] === undefined) {
    return { file, field: 'magic', message: `magic ${hex(magic)}: not ${idxKinds}` }
  }
  if (type !== 0x08) {
    return {
      file,
      field: 'magic',
      message: `magic ${hex(magic)}: values of type 0x${type.toString(16)} (${TYPE_NAMES[type]}); only unsigned bytes (0x08) are read`,
    }
  }
  if (ndims !== 3 && ndims !== 1) {
    return {
      file,
      field: 'dimensions',
      message: `magic ${hex(magic)}: ${ndims} dimensions; ${idxKinds} has 3 (count×rows×cols) or 1 (count)`,
    }
  }
  const headerBytes = 4 + 4 * ndims
  if (bytes.length < headerBytes) {
    return {
      file,
      field: 'dimensions',
      message: `truncated: ${bytes.length} bytes, shorter than its ${headerBytes}-byte header`,
    }
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i))
  const kind = magic === IDX_IMAGES_MAGIC ? 'images' : 'labels'
  // Sizes as floats: n×rows×cols may pass 2^32 but never 2^53.
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1)
  if (bytes.length < expected) {
    return {
      file,
      message: `truncated: ${count(bytes.length)} bytes, the header's ${dims.join('×')} needs ${count(expected)}`,
    }
  }
  if (bytes.length > expected) {
    return {
      file,
      message: `${count(bytes.length - expected)} bytes past the ${dims.join('×')} ${kind} its header declares`,
    }
  }
  return { kind, dims, offset: headerBytes }
}

const isProblem = (h: IdxHeader | FileProblem): h is FileProblem => 'message' in h

/**
 * Two IDX files, an images file and a labels file in either order, each optionally gzipped
 * (told by the gzip magic, not the name), into Examples of the dataset's [height, width, 1].
 */
export function readIdx(
  files: [NamedFile, NamedFile],
  spec: DatasetSpec,
  limits: ReadLimits,
  budget = new ByteBudget(limits.maxExpandedBytes),
): ReadResult {
  const { features, classes } = spec
  const problems = new Problems()
  const read: { file: string; bytes: Uint8Array; header: IdxHeader }[] = []
  for (const f of files) {
    let bytes = f.bytes
    if (isGzip(bytes)) {
      const out = gunzipLimited(bytes, budget)
      if (!out.ok) {
        problems.add({ file: f.name, message: `gzip: ${out.message}` })
        continue
      }
      bytes = out.bytes
    }
    const header = readIdxHeader(f.name, bytes)
    if (isProblem(header)) problems.add(header)
    else read.push({ file: f.name, bytes, header })
  }
  if (problems.any) return problems.result()
  const images = read.find((r) => r.header.kind === 'images')
  const labels = read.find((r) => r.header.kind === 'labels')
  if (!images || !labels) {
    const kind = read[0]!.header.kind
    return refuse({
      file: `${read[0]!.file}, ${read[1]!.file}`,
      field: 'magic',
      message: `both files are IDX ${kind} files; expected one images file (${hex(IDX_IMAGES_MAGIC)}) and one labels file (${hex(IDX_LABELS_MAGIC)})`,
    })
  }
  if (features.kind !== 'image') {
    return refuse({
      file: images.file,
      message: `IDX holds images; dataset ${spec.name} is tabular (give a CSV)`,
    })
  }
  const [n = 0, rows = 0, cols = 0] = images.header.dims
  if (rows !== features.height || cols !== features.width) {
    problems.add({
      file: images.file,
      field: 'dimensions',
      message: `images are ${rows}×${cols}; dataset ${spec.name} takes ${features.height}×${features.width}`,
    })
  }
  if (features.channels !== 1) {
    problems.add({
      file: images.file,
      field: 'channels',
      message: `IDX images are grayscale (1 channel); dataset ${spec.name} takes ${features.channels} channels (give a zip of images)`,
    })
  }
  const m = labels.header.dims[0]!
  if (m !== n) {
    problems.add({
      file: labels.file,
      field: 'count',
      message: `${count(m)} labels for ${count(n)} images in ${images.file}`,
    })
  }
  if (n > limits.maxExamples) {
    problems.add({
      file: images.file,
      field: 'count',
      message: `${count(n)} images, more than the limit of ${count(limits.maxExamples)}`,
    })
  }
  if (problems.any) return problems.result()
  const labelBytes = labels.bytes.subarray(labels.header.offset)
  for (let i = 0; i < n && !problems.full; i++) {
    const label = labelBytes[i]!
    if (label >= classes.length) {
      problems.add({
        file: labels.file,
        field: 'label',
        message: `label ${label} at index ${i} (0-based) is outside the ${classes.length} classes (0..${classes.length - 1})`,
      })
    }
  }
  if (problems.any) return problems.result()
  return {
    ok: true,
    examples: {
      count: n,
      shape: [features.height, features.width, 1],
      features: images.bytes.slice(images.header.offset),
      labels: labelBytes.slice(),
    },
    notes: [
      `${count(n)} ${rows}×${cols} grayscale images from IDX ${images.file} and ${labels.file}`,
    ],
  }
}

/** An IDX file of `dims` unsigned bytes: for tests, fixtures and tools that write the format. */
export function encodeIdx(values: Uint8Array, dims: number[]): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1)
  if (values.length !== size) {
    throw new RangeError(`encodeIdx: ${values.length} values for dims ${dims.join('×')}`)
  }
  const out = new Uint8Array(4 + 4 * dims.length + size)
  const view = new DataView(out.buffer)
  out[2] = 0x08
  out[3] = dims.length
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d))
  out.set(values, 4 + 4 * dims.length)
  return out
}
