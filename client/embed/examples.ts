// What a web app hands the embeddable client, checked against the dataset's spec and turned into
// the Examples the worker trains on: image bytes, or tabular values scaled as the spec says. A
// batch is taken whole or refused whole, the refusal naming the example and the field.
import type { Examples } from '../../shared/data/index.ts'
import {
  exampleShape,
  exampleSize,
  type ColumnScaling,
  type DatasetSpec,
} from '../../shared/protocol/index.ts'

/** Examples one `addExamples` call may carry: a bound on what is checked and stored at once. */
export const MAX_BATCH = 10_000
/**
 * Examples one dataset may hold in this browser: a round loads them all into memory (and sends
 * them to the worker), so the bound keeps that within what a phone's tab holds.
 */
export const MAX_STORED = 100_000

/**
 * One labelled example as the app keeps it.
 * - `features`: an image's values, row-major, channels last, each an integer 0..255
 *   (`Uint8Array`, `Uint8ClampedArray` or numbers), or an `ImageData` of the dataset's size;
 *   a tabular example's raw values in the dataset's column order, or an object keyed by column
 *   name. Tabular values are scaled here as the spec says (the app passes them unscaled).
 * - `label`: the class's name, or its index in the dataset's classes.
 */
export interface ExampleInput {
  features: ArrayLike<number> | Readonly<Record<string, number>> | ImageDataLike
  label: string | number
}

/** The parts of an ImageData this reads (a real ImageData is one). */
export interface ImageDataLike {
  width: number
  height: number
  data: Uint8ClampedArray
}

/** A refused call: `field` names the example and the value (`examples[3].features[12]`). */
export class EmbedError extends Error {
  override name = 'EmbedError'
  constructor(
    readonly code: 'invalid_request' | 'not_found' | 'unavailable' | 'unauthorized',
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message)
  }
}

const isImageData = (f: ExampleInput['features']): f is ImageDataLike =>
  typeof f === 'object' &&
  f !== null &&
  'data' in f &&
  f.data instanceof Uint8ClampedArray &&
  typeof (f as ImageDataLike).width === 'number'

const isArrayLike = (f: unknown): f is ArrayLike<number> =>
  ArrayBuffer.isView(f) || Array.isArray(f)

/** The label's index, from its name or its index. */
export function labelIndex(classes: readonly string[], label: unknown, field: string): number {
  if (typeof label === 'string') {
    const k = classes.indexOf(label)
    if (k < 0)
      throw new EmbedError(
        'invalid_request',
        `"${label.slice(0, 100)}" is none of the classes (${classes.join(', ')})`,
        field,
      )
    return k
  }
  if (typeof label === 'number' && Number.isInteger(label) && label >= 0 && label < classes.length)
    return label
  throw new EmbedError(
    'invalid_request',
    `must be a class name or an integer 0..${classes.length - 1}, got ${String(label)}`,
    field,
  )
}

/** Writes one image's bytes at `out[offset..]`; an ImageData's RGBA becomes the dataset's channels. */
function putImage(
  spec: DatasetSpec,
  f: ExampleInput['features'],
  out: Uint8Array,
  at: number,
  field: string,
) {
  if (spec.features.kind !== 'image') throw new Error('putImage: not an image dataset')
  const { height, width, channels } = spec.features
  if (isImageData(f)) {
    if (f.width !== width || f.height !== height)
      throw new EmbedError(
        'invalid_request',
        `an image of ${f.width}×${f.height}, the dataset's are ${width}×${height}`,
        field,
      )
    for (let p = 0; p < width * height; p++) {
      const [r, g, b] = [f.data[4 * p]!, f.data[4 * p + 1]!, f.data[4 * p + 2]!]
      if (channels === 3) out.set([r, g, b], at + 3 * p)
      // Luma (ITU-R BT.601), as a grayscale photo would have it.
      else out[at + p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b)
    }
    return
  }
  if (!isArrayLike(f))
    throw new EmbedError(
      'invalid_request',
      'must be an array of pixel values or an ImageData',
      field,
    )
  const size = exampleSize(spec.features)
  if (f.length !== size)
    throw new EmbedError(
      'invalid_request',
      `${f.length} values, the dataset's images have ${height}×${width}×${channels} = ${size}`,
      field,
    )
  for (let i = 0; i < size; i++) {
    const v = f[i]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
      throw new EmbedError(
        'invalid_request',
        `must be an integer 0..255, got ${String(v)}`,
        `${field}[${i}]`,
      )
    out[at + i] = v
  }
}

const scale = (v: number, s: ColumnScaling | undefined) =>
  !s ? v : s.kind === 'standard' ? (v - s.mean) / s.std : (v - s.min) / (s.max - s.min)

/** Writes one row's scaled values at `out[offset..]`, in the dataset's column order. */
function putRow(
  spec: DatasetSpec,
  f: ExampleInput['features'],
  out: Float32Array,
  at: number,
  field: string,
) {
  if (spec.features.kind !== 'tabular') throw new Error('putRow: not a tabular dataset')
  const { columns } = spec.features
  const byName = !isArrayLike(f) && typeof f === 'object' && f !== null && !isImageData(f)
  if (!byName && !isArrayLike(f))
    throw new EmbedError(
      'invalid_request',
      'must be an array of numbers or an object by column',
      field,
    )
  if (isArrayLike(f) && f.length !== columns.length)
    throw new EmbedError(
      'invalid_request',
      `${f.length} values, the dataset has ${columns.length} columns (${columns.map((c) => c.name).join(', ')})`,
      field,
    )
  if (byName) {
    const known = new Set(columns.map((c) => c.name))
    const unknown = Object.keys(f).find((k) => !known.has(k))
    if (unknown !== undefined)
      throw new EmbedError(
        'invalid_request',
        'no such column in the dataset',
        `${field}.${unknown.slice(0, 100)}`,
      )
  }
  columns.forEach((column, i) => {
    const v: unknown = byName
      ? (f as Record<string, unknown>)[column.name]
      : (f as ArrayLike<number>)[i]
    const where = byName ? `${field}.${column.name}` : `${field}[${i}] (${column.name})`
    if (v === undefined) throw new EmbedError('invalid_request', 'missing', where)
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new EmbedError(
        'invalid_request',
        `must be a finite number, got ${typeof v === 'number' ? v : typeof v}`,
        where,
      )
    const scaled = scale(v, column.scaling)
    // Float32 holds what the model reads: a value past its range would train on Infinity.
    if (!Number.isFinite(Math.fround(scaled)))
      throw new EmbedError('invalid_request', `${v} scales out of range`, where)
    out[at + i] = scaled
  })
}

/**
 * The batch as Examples of the dataset's shape, or an EmbedError for the first bad example
 * (nothing of the batch is kept then).
 */
export function encodeExamples(spec: DatasetSpec, inputs: readonly ExampleInput[]): Examples {
  if (!Array.isArray(inputs))
    throw new EmbedError('invalid_request', 'must be an array', 'examples')
  if (inputs.length === 0) throw new EmbedError('invalid_request', 'no examples given', 'examples')
  if (inputs.length > MAX_BATCH)
    throw new EmbedError(
      'invalid_request',
      `${inputs.length} examples, at most ${MAX_BATCH} a call`,
      'examples',
    )
  const size = exampleSize(spec.features)
  const count = inputs.length
  const features =
    spec.features.kind === 'image' ? new Uint8Array(count * size) : new Float32Array(count * size)
  const labels = new Uint8Array(count)
  inputs.forEach((raw: unknown, k) => {
    const field = `examples[${k}]`
    // The app's values, whatever its types said: checked here, one by one.
    if (typeof raw !== 'object' || raw === null)
      throw new EmbedError('invalid_request', 'must be an object { features, label }', field)
    const input = raw as ExampleInput
    labels[k] = labelIndex(spec.classes, input.label, `${field}.label`)
    if (features instanceof Uint8Array)
      putImage(spec, input.features, features, k * size, `${field}.features`)
    else putRow(spec, input.features, features, k * size, `${field}.features`)
  })
  return { count, shape: exampleShape(spec.features), features, labels }
}
