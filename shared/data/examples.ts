/** Labelled 28x28 grayscale images, one byte per pixel: what a device trains and evaluates on. */
export interface Examples {
  count: number
  /** count * 784 bytes, row-major, 0..255. */
  pixels: Uint8Array
  /** count labels, 0..9. */
  labels: Uint8Array
}

/** Examples that say their image size: MNIST digits as decoded from the binary file. */
export interface Digits extends Examples {
  rows: 28
  cols: 28
}

export const ROWS = 28
export const COLS = 28
export const PIXELS_PER_EXAMPLE = ROWS * COLS
export const NUM_LABELS = 10

/** Counts per label 0..9. */
export function labelHistogram(d: Pick<Examples, 'count' | 'labels'>): number[] {
  const h = new Array<number>(NUM_LABELS).fill(0)
  for (let i = 0; i < d.count; i++) {
    const label = d.labels[i]!
    h[label] = (h[label] ?? 0) + 1
  }
  return h
}

/** The examples at `indices`, in that order, copied. Keeps any other fields of `d` (rows, cols). */
export function subset<T extends Examples>(d: T, indices: ArrayLike<number>): T {
  const n = indices.length
  const pixels = new Uint8Array(n * PIXELS_PER_EXAMPLE)
  const labels = new Uint8Array(n)
  for (let k = 0; k < n; k++) {
    const i = indices[k]!
    if (!Number.isInteger(i) || i < 0 || i >= d.count) {
      throw new RangeError(`subset: index ${i} is outside 0..${d.count - 1}`)
    }
    labels[k] = d.labels[i]!
    pixels.set(
      d.pixels.subarray(i * PIXELS_PER_EXAMPLE, (i + 1) * PIXELS_PER_EXAMPLE),
      k * PIXELS_PER_EXAMPLE,
    )
  }
  return { ...d, count: n, pixels, labels }
}

/** Throws unless pixels and labels agree with count and labels are 0..9. */
export function assertExamples(d: Examples, what = 'examples'): void {
  if (!Number.isInteger(d.count) || d.count < 0) {
    throw new RangeError(`${what}: count must be a non-negative integer, got ${d.count}`)
  }
  if (d.labels.length !== d.count) {
    throw new RangeError(`${what}: ${d.labels.length} labels for ${d.count} examples`)
  }
  if (d.pixels.length !== d.count * PIXELS_PER_EXAMPLE) {
    throw new RangeError(
      `${what}: ${d.pixels.length} pixel bytes, expected ${d.count} x ${PIXELS_PER_EXAMPLE}`,
    )
  }
  for (let i = 0; i < d.count; i++) {
    if (d.labels[i]! >= NUM_LABELS) {
      throw new RangeError(`${what}: label ${d.labels[i]} at ${i} is not 0..${NUM_LABELS - 1}`)
    }
  }
}
