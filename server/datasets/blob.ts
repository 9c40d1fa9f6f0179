/**
 * A held-out set as one content-addressed blob: a small header, the labels, then the features.
 *
 *   "PLHO" | version u8 = 1 | dtype u8 (0 uint8, 1 float32) | rank u8 (1..3) | 0 u8
 *   | count u32 | shape u32 × rank | labels u8 × count | 0-3 zero bytes to a multiple of 4
 *   | features (count × size(shape) values, little-endian)
 *
 * All integers little-endian. Decoding checks every length, so a blob cut short or grown reads
 * as an error, never as other examples.
 */
import type { Examples } from '../../shared/data/index.ts'

/** What a held-out set holds: shared/data's Examples (features of any shape, one label each). */
export type HeldOutExamples = Examples

const MAGIC = [0x50, 0x4c, 0x48, 0x4f] // "PLHO"
const VERSION = 1
const HEADER = 12

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1)
const pad4 = (n: number) => (4 - (n % 4)) % 4

export function encodeHeldOut(e: HeldOutExamples): Uint8Array {
  const float = e.features instanceof Float32Array
  if (e.shape.length < 1 || e.shape.length > 3) throw new RangeError('shape: 1 to 3 dimensions')
  if (e.labels.length !== e.count || e.features.length !== e.count * size(e.shape))
    throw new RangeError('features and labels must hold count examples of the shape')
  const labelsAt = HEADER + 4 * e.shape.length
  const featuresAt = labelsAt + e.count + pad4(labelsAt + e.count)
  const bytes = new Uint8Array(featuresAt + e.features.byteLength)
  const view = new DataView(bytes.buffer)
  bytes.set(MAGIC, 0)
  bytes.set([VERSION, float ? 1 : 0, e.shape.length, 0], 4)
  view.setUint32(8, e.count, true)
  e.shape.forEach((d, i) => view.setUint32(HEADER + 4 * i, d, true))
  bytes.set(e.labels, labelsAt)
  if (float) {
    const f = e.features as Float32Array
    for (let i = 0; i < f.length; i++) view.setFloat32(featuresAt + 4 * i, f[i]!, true)
  } else bytes.set(e.features, featuresAt)
  return bytes
}

export function decodeHeldOut(bytes: Uint8Array): HeldOutExamples {
  const fail = (why: string): never => {
    throw new Error(`not a held-out blob: ${why}`)
  }
  if (bytes.length < HEADER || MAGIC.some((b, i) => bytes[i] !== b)) fail('no PLHO header')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes[4] !== VERSION) fail(`version ${bytes[4]}`)
  const dtype = bytes[5]
  const rank = bytes[6]!
  if ((dtype !== 0 && dtype !== 1) || rank < 1 || rank > 3) fail('dtype or rank')
  const count = view.getUint32(8, true)
  const labelsAt = HEADER + 4 * rank
  if (bytes.length < labelsAt) fail('cut short')
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(HEADER + 4 * i, true))
  const featuresAt = labelsAt + count + pad4(labelsAt + count)
  const values = count * size(shape)
  if (bytes.length !== featuresAt + values * (dtype === 1 ? 4 : 1)) fail('wrong length')
  const labels = bytes.slice(labelsAt, labelsAt + count)
  let features: Uint8Array | Float32Array
  if (dtype === 0) features = bytes.slice(featuresAt)
  else {
    features = new Float32Array(values)
    for (let i = 0; i < values; i++) features[i] = view.getFloat32(featuresAt + 4 * i, true)
  }
  return { count, shape, features, labels }
}

/** Examples per label, one entry per class (index = label). */
export function classHistogram(labels: Uint8Array, classes: number): number[] {
  const h = new Array<number>(classes).fill(0)
  for (const label of labels) h[label] = (h[label] ?? 0) + 1
  return h
}
