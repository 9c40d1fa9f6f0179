/**
 * Labelled examples of any shape: what a device trains and evaluates on. An image dataset's
 * examples are bytes (0..255, training scales them by 1/255); a tabular dataset's are float32
 * values already scaled as the dataset declares (used as they are).
 */
export interface Examples {
  count: number
  /** One example's shape: [height, width, channels] for images, [columns] for tabular. */
  shape: number[]
  /** count × shapeSize(shape) values, row-major. */
  features: Uint8Array | Float32Array
  /** count labels, each < the dataset's classes (≤ 256). */
  labels: Uint8Array
}

/** MNIST digits as decoded from the binary file: 28×28×1 bytes. */
export interface Digits extends Examples {
  features: Uint8Array
}

/** MNIST's constants (the built-in demo), not anyone else's. */
export const ROWS = 28
export const COLS = 28
export const PIXELS_PER_EXAMPLE = ROWS * COLS
export const NUM_LABELS = 10
export const MNIST_SHAPE: readonly [28, 28, 1] = [ROWS, COLS, 1]

/** Dimensions of one example: [H, W, C] is the most any dataset declares; 4 leaves room. */
export const MAX_RANK = 4
/** Values in one example: a 512×512×3 image, the largest a dataset may declare. */
export const MAX_EXAMPLE_SIZE = 512 * 512 * 3

/** Values per example of `shape`. */
export const shapeSize = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((n, i) => n === b[i])

export const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`

/** Throws unless `shape` is 1..MAX_RANK positive integers holding at most MAX_EXAMPLE_SIZE values. */
export function assertShape(shape: unknown, what = 'shape'): asserts shape is number[] {
  if (
    !Array.isArray(shape) ||
    shape.length < 1 ||
    shape.length > MAX_RANK ||
    !shape.every((n) => Number.isInteger(n) && n >= 1)
  ) {
    throw new RangeError(
      `${what} must be 1 to ${MAX_RANK} positive integers, got ${JSON.stringify(shape)}`,
    )
  }
  if (shapeSize(shape) > MAX_EXAMPLE_SIZE) {
    throw new RangeError(
      `${what} ${formatShape(shape)} holds ${shapeSize(shape)} values, more than ${MAX_EXAMPLE_SIZE}`,
    )
  }
}

/** The i-th example's features, a view into `d.features`. */
export function featuresAt(d: Examples, i: number): Uint8Array | Float32Array {
  const size = shapeSize(d.shape)
  return d.features.subarray(i * size, (i + 1) * size)
}

/** Empty features of the same kind (bytes or float32) as `like`. */
function alike(like: Uint8Array | Float32Array, length: number): Uint8Array | Float32Array {
  return like instanceof Float32Array ? new Float32Array(length) : new Uint8Array(length)
}

/**
 * Counts per label, `classes` bins. A label outside them throws: counting it nowhere would hide
 * examples the model cannot train on.
 */
export function labelHistogram(d: Pick<Examples, 'count' | 'labels'>, classes: number): number[] {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`labelHistogram: classes must be a positive integer, got ${classes}`)
  }
  const h = new Array<number>(classes).fill(0)
  for (let i = 0; i < d.count; i++) {
    const label = d.labels[i]!
    if (label >= classes) {
      throw new RangeError(`label ${label} at ${i} is not one of ${classes} classes`)
    }
    h[label]!++
  }
  return h
}

/** Classes the labels need at least: the highest label + 1 (1 when there are none). */
export function classesSeen(d: Pick<Examples, 'count' | 'labels'>): number {
  let max = 0
  for (let i = 0; i < d.count; i++) max = Math.max(max, d.labels[i]!)
  return max + 1
}

/** The examples at `indices`, in that order, copied. Keeps any other fields of `d`. */
export function subset<T extends Examples>(d: T, indices: ArrayLike<number>): T {
  const n = indices.length
  const size = shapeSize(d.shape)
  const features = alike(d.features, n * size)
  const labels = new Uint8Array(n)
  for (let k = 0; k < n; k++) {
    const i = indices[k]!
    if (!Number.isInteger(i) || i < 0 || i >= d.count) {
      throw new RangeError(`subset: index ${i} is outside 0..${d.count - 1}`)
    }
    labels[k] = d.labels[i]!
    features.set(d.features.subarray(i * size, (i + 1) * size), k * size)
  }
  return { ...d, count: n, shape: [...d.shape], features, labels }
}

/** The examples of `parts`, one after another; all must share one shape and kind of features. */
export function concatExamples(parts: readonly Examples[], what = 'examples'): Examples {
  const first = parts[0]
  if (!first) throw new RangeError(`${what}: nothing to join`)
  const size = shapeSize(first.shape)
  const count = parts.reduce((n, p) => n + p.count, 0)
  const features = alike(first.features, count * size)
  const labels = new Uint8Array(count)
  let at = 0
  parts.forEach((p, i) => {
    if (!sameShape(p.shape, first.shape)) {
      throw new RangeError(
        `${what}: part ${i} has shape ${formatShape(p.shape)}, ` +
          `part 0 has ${formatShape(first.shape)}`,
      )
    }
    if (p.features instanceof Float32Array !== first.features instanceof Float32Array) {
      throw new RangeError(`${what}: part ${i} mixes byte and float32 features`)
    }
    features.set(p.features.subarray(0, p.count * size), at * size)
    labels.set(p.labels.subarray(0, p.count), at)
    at += p.count
  })
  return { count, shape: [...first.shape], features, labels }
}

/**
 * Throws unless the shape is sound, features and labels agree with count, float features are
 * finite and labels fit `classes` (default 256, what a label byte holds).
 */
export function assertExamples(d: Examples, what = 'examples', classes = 256): void {
  if (!Number.isInteger(d.count) || d.count < 0) {
    throw new RangeError(`${what}: count must be a non-negative integer, got ${d.count}`)
  }
  assertShape(d.shape, `${what}: shape`)
  if (!(d.labels instanceof Uint8Array)) {
    throw new RangeError(`${what}: labels must be a Uint8Array`)
  }
  if (d.labels.length !== d.count) {
    throw new RangeError(`${what}: ${d.labels.length} labels for ${d.count} examples`)
  }
  if (!(d.features instanceof Uint8Array || d.features instanceof Float32Array)) {
    throw new RangeError(`${what}: features must be a Uint8Array or a Float32Array`)
  }
  const size = shapeSize(d.shape)
  if (d.features.length !== d.count * size) {
    throw new RangeError(
      `${what}: ${d.features.length} feature values, expected ${d.count} x ${size} ` +
        `for shape ${formatShape(d.shape)}`,
    )
  }
  if (d.features instanceof Float32Array) {
    const bad = d.features.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) {
      throw new RangeError(
        `${what}: example ${Math.floor(bad / size)} has value ${d.features[bad]} at ` +
          `${bad % size}; features must be finite`,
      )
    }
  }
  for (let i = 0; i < d.count; i++) {
    if (d.labels[i]! >= classes) {
      throw new RangeError(`${what}: label ${d.labels[i]} at ${i} is not 0..${classes - 1}`)
    }
  }
}
