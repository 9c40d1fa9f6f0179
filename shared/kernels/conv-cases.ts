// Random conv2d problems for the gradient kernels' tests, and what those tests compare with.
import { expect } from 'vitest'
import { mulberry32 } from '../data/index.ts'
import { type BackendName, tf } from '../tf/index.ts'

export type Shape4D = [number, number, number, number]
export type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]]

/** One filter-gradient problem: conv2d(x, filter) with these attributes, x and dy given. */
export interface Case {
  name: string
  xShape: Shape4D
  filterShape: Shape4D
  strides: [number, number]
  pad: Pad
  dilations: [number, number]
  x: Float32Array
  filter: Float32Array
  /** Seeds dy once the output shape is known. */
  dySeed: number
}

export const BACKENDS: BackendName[] = ['cpu', 'wasm']
export const FILTERS: [number, number][] = [
  [3, 3],
  [5, 5],
  [1, 1],
  [2, 4],
]
export const TOLERANCE = 1e-4

export function makeCase(
  seed: number,
  fixed: Partial<Pick<Case, 'xShape' | 'filterShape' | 'strides' | 'pad' | 'dilations'>> = {},
): Case {
  const random = mulberry32(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const [fh, fw] = FILTERS[int(0, FILTERS.length - 1)]!
  const xShape = fixed.xShape ?? [int(1, 3), int(5, 12), int(5, 12), int(1, 4)]
  const filterShape = fixed.filterShape ?? [fh, fw, xShape[3], int(1, 4)]
  const square = random() < 0.5
  const sh = int(1, 3)
  const strides = fixed.strides ?? [sh, square ? sh : int(1, 3)]
  const pad = fixed.pad ?? (random() < 0.5 ? 'valid' : 'same')
  const dilations = fixed.dilations ?? [1, 1]
  const values = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1)
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1)
  const name =
    `x [${xShape.join(',')}] filter [${filterShape.join(',')}] strides [${strides.join(',')}] ` +
    `pad ${JSON.stringify(pad)}` +
    (dilations.some((d) => d > 1) ? ` dilations [${dilations.join(',')}]` : '')
  return {
    name,
    xShape,
    filterShape,
    strides,
    pad,
    dilations,
    x: values(size(xShape)),
    filter: values(size(filterShape)),
    dySeed: int(1, 2 ** 30),
  }
}

/** Random shapes, strides and paddings, then the corners random draws rarely reach. */
export const CASES: Case[] = [
  ...Array.from({ length: 24 }, (_, i) => makeCase(100 + i)),
  makeCase(1, { xShape: [3, 12, 12, 4], filterShape: [5, 5, 4, 4], strides: [3, 1], pad: 'same' }),
  makeCase(2, { xShape: [2, 11, 7, 3], filterShape: [2, 4, 3, 2], strides: [3, 2], pad: 'valid' }),
  makeCase(3, { xShape: [2, 9, 10, 2], filterShape: [3, 3, 2, 3], strides: [2, 2], pad: 2 }),
  makeCase(4, {
    xShape: [2, 8, 9, 2],
    filterShape: [3, 3, 2, 2],
    strides: [2, 1],
    pad: [
      [0, 0],
      [1, 3],
      [0, 2],
      [0, 0],
    ],
  }),
  // Every tap lands in the padding: the gradient is zero.
  makeCase(5, {
    xShape: [2, 3, 3, 2],
    filterShape: [2, 2, 2, 3],
    strides: [4, 4],
    pad: [
      [0, 0],
      [2, 0],
      [2, 0],
      [0, 0],
    ],
  }),
]

/** TF.js refuses dilated conv2d gradients on every backend; the wasm kernel still honours them. */
export const DILATED_CASES: Case[] = Array.from({ length: 8 }, (_, i) =>
  makeCase(200 + i, { strides: [1, 1], dilations: i % 3 === 0 ? [2, 1] : [2, 2] }),
)

export const dyFor = (c: Case, shape: number[]): Float32Array => {
  const random = mulberry32(c.dySeed)
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1)
}

export const conv = (c: Case, x: tf.Tensor4D, filter: tf.Tensor4D) =>
  tf.conv2d(x, filter, c.strides, c.pad, 'NHWC', c.dilations)

/** Output size and leading padding of one spatial dimension, by TensorFlow's rules. */
export function outAndPad(c: Case, axis: 0 | 1): [number, number] {
  const size = c.xShape[axis + 1]!
  const stride = c.strides[axis]
  const effective = (c.filterShape[axis] - 1) * c.dilations[axis] + 1
  const pad = c.pad
  if (pad === 'same') {
    const out = Math.ceil(size / stride)
    return [out, Math.floor(Math.max((out - 1) * stride + effective - size, 0) / 2)]
  }
  const [before, after] =
    pad === 'valid' ? [0, 0] : typeof pad === 'number' ? [pad, pad] : pad[1 + axis]!
  return [Math.floor((size + before + after - effective) / stride) + 1, before]
}

/** ‖a − b‖ / ‖b‖ (absolute when b is zero). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let diff = 0
  let norm = 0
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2
    norm += b[i]! ** 2
  }
  return Math.sqrt(diff) / (norm > 0 ? Math.sqrt(norm) : 1)
}

export const liveData = () => [tf.memory().numTensors, tf.engine().backend.numDataIds()]

/** What a conv2d gradient is taken with respect to: the input x or the filter. */
export type Wrt = 'x' | 'filter'

/** d(Σ conv2d(x, filter) · dy)/d`wrt` on the active backend, as TF.js's tf.grad computes it. */
export function convGradient(
  c: Case,
  wrt: Wrt,
): { dy: Float32Array; dyShape: number[]; grad: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(c.x, c.xShape)
    const filter = tf.tensor4d(c.filter, c.filterShape)
    const dyShape = conv(c, x, filter).shape
    const dy = dyFor(c, dyShape)
    const dyT = tf.tensor4d(dy, dyShape)
    const loss = (v: tf.Tensor) =>
      tf.sum(
        tf.mul(wrt === 'x' ? conv(c, v as tf.Tensor4D, filter) : conv(c, x, v as tf.Tensor4D), dyT),
      )
    const grad = tf.grad(loss)(wrt === 'x' ? x : filter)
    return { dy, dyShape, grad: grad.dataSync() as Float32Array }
  })
}

/**
 * The gradient kernel (Conv2DBackpropInput for x, Conv2DBackpropFilter for the filter) called
 * directly, with the case's dilations: TF.js's tf.grad refuses them, the wasm kernels do not.
 */
export function kernelGradient(c: Case, wrt: Wrt, dyShape: number[]): Float32Array {
  return tf.tidy(() => {
    const dy = tf.tensor4d(dyFor(c, dyShape), dyShape as Shape4D)
    const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations }
    const out =
      wrt === 'x'
        ? tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy, filter: tf.tensor4d(c.filter, c.filterShape) },
              { ...common, inputShape: c.xShape },
            )
        : tf
            .engine()
            .runKernel(
              'Conv2DBackpropFilter',
              { x: tf.tensor4d(c.x, c.xShape), dy },
              { ...common, filterShape: c.filterShape },
            )
    return (out as tf.Tensor).dataSync() as Float32Array
  })
}
