import {
  assertExamples,
  COLS,
  type Digits,
  type Examples,
  formatShape,
  MNIST_SHAPE,
  PIXELS_PER_EXAMPLE,
  ROWS,
  sameShape,
} from './examples.ts'

/**
 * The compact MNIST file (`public/data/mnist.bin`), little-endian:
 *
 *   'PMNS' | u32 version (1) | u32 trainCount | u32 testCount | u32 rows | u32 cols
 *   | labels (train, then test; one byte each) | pixels (train, then test; rows*cols bytes each)
 *
 * Decoded, the digits have shape [28, 28, 1] and byte features.
 */
export const MNIST_MAGIC = 'PMNS'
export const MNIST_VERSION = 1
export const MNIST_HEADER_BYTES = 24

export type MnistFormatErrorCode =
  'bad-magic' | 'bad-version' | 'bad-shape' | 'truncated' | 'trailing' | 'bad-label'

export class MnistFormatError extends Error {
  override name = 'MnistFormatError'
  constructor(
    readonly code: MnistFormatErrorCode,
    message: string,
  ) {
    super(`mnist.bin: ${message}`)
  }
}

/** Writes MNIST digits: 28×28×1 bytes with labels 0..9, as nothing else fits the file. */
export function encodeMnist({ train, test }: { train: Examples; test: Examples }): Uint8Array {
  for (const [what, d] of [
    ['train', train],
    ['test', test],
  ] as const) {
    assertExamples(d, what, 10)
    if (!sameShape(d.shape, MNIST_SHAPE) || !(d.features instanceof Uint8Array)) {
      throw new RangeError(
        `${what}: mnist.bin holds 28x28x1 bytes, not ${formatShape(d.shape)} ` +
          (d.features instanceof Uint8Array ? 'bytes' : 'float32 values'),
      )
    }
  }
  const n = train.count + test.count
  const out = new Uint8Array(MNIST_HEADER_BYTES + n + n * PIXELS_PER_EXAMPLE)
  const view = new DataView(out.buffer)
  for (let i = 0; i < 4; i++) out[i] = MNIST_MAGIC.charCodeAt(i)
  view.setUint32(4, MNIST_VERSION, true)
  view.setUint32(8, train.count, true)
  view.setUint32(12, test.count, true)
  view.setUint32(16, ROWS, true)
  view.setUint32(20, COLS, true)
  let at = MNIST_HEADER_BYTES
  out.set(train.labels, at)
  out.set(test.labels, (at += train.count))
  out.set(train.features, (at += test.count))
  out.set(test.features, at + train.features.length)
  return out
}

/** Decodes the file; the digits are copies, not views into `bytes`. */
export function decodeMnist(bytes: Uint8Array): { train: Digits; test: Digits } {
  if (bytes.length < MNIST_HEADER_BYTES) {
    throw new MnistFormatError('truncated', `${bytes.length} bytes, shorter than the header`)
  }
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!)
  if (magic !== MNIST_MAGIC) {
    throw new MnistFormatError('bad-magic', `magic is ${JSON.stringify(magic)}, expected 'PMNS'`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint32(4, true)
  if (version !== MNIST_VERSION) {
    throw new MnistFormatError(
      'bad-version',
      `version ${version}, this code reads ${MNIST_VERSION}`,
    )
  }
  const trainCount = view.getUint32(8, true)
  const testCount = view.getUint32(12, true)
  const rows = view.getUint32(16, true)
  const cols = view.getUint32(20, true)
  if (rows !== ROWS || cols !== COLS) {
    throw new MnistFormatError('bad-shape', `images are ${rows}x${cols}, expected ${ROWS}x${COLS}`)
  }
  const n = trainCount + testCount
  const expected = MNIST_HEADER_BYTES + n + n * PIXELS_PER_EXAMPLE
  if (bytes.length < expected) {
    throw new MnistFormatError(
      'truncated',
      `${bytes.length} bytes, expected ${expected} for ${trainCount} + ${testCount} digits`,
    )
  }
  if (bytes.length > expected) {
    throw new MnistFormatError('trailing', `${bytes.length - expected} bytes after the last digit`)
  }
  const labelsAt = MNIST_HEADER_BYTES
  const pixelsAt = labelsAt + n
  const digits = (first: number, count: number): Digits => ({
    count,
    shape: [...MNIST_SHAPE],
    labels: bytes.slice(labelsAt + first, labelsAt + first + count),
    features: bytes.slice(
      pixelsAt + first * PIXELS_PER_EXAMPLE,
      pixelsAt + (first + count) * PIXELS_PER_EXAMPLE,
    ),
  })
  const train = digits(0, trainCount)
  const test = digits(trainCount, testCount)
  for (const [what, d] of [
    ['train', train],
    ['test', test],
  ] as const) {
    const bad = d.labels.findIndex((l) => l > 9)
    if (bad >= 0) {
      throw new MnistFormatError(
        'bad-label',
        `${what} label ${d.labels[bad]} at ${bad} is not 0..9`,
      )
    }
  }
  return { train, test }
}
