import { beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../../scripts/mnist-file.ts'
import { type Digits, mulberry32, subset } from '../data/index.ts'
import { buildModel, getWeights, type PresetName } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { type BackendName, tf, useBackend } from '../tf/index.ts'
import { evaluate, missingTrainingKernels, trainLocally } from '../training/index.ts'
import {
  conv2DBackpropFilterConfig,
  type FilterGradientAttrs,
  registerWasmKernels,
} from './index.ts'

type Shape4D = [number, number, number, number]
type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]]

/** One filter-gradient problem: conv2d(x, filter) with these attributes, x and dy given. */
interface Case {
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

const BACKENDS: BackendName[] = ['cpu', 'wasm']
const FILTERS: [number, number][] = [
  [3, 3],
  [5, 5],
  [1, 1],
  [2, 4],
]
const TOLERANCE = 1e-4

function makeCase(
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
const CASES: Case[] = [
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
const DILATED_CASES: Case[] = Array.from({ length: 8 }, (_, i) =>
  makeCase(200 + i, { strides: [1, 1], dilations: i % 3 === 0 ? [2, 1] : [2, 2] }),
)

const dyFor = (c: Case, shape: number[]): Float32Array => {
  const random = mulberry32(c.dySeed)
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1)
}

const conv = (c: Case, x: tf.Tensor4D, filter: tf.Tensor4D) =>
  tf.conv2d(x, filter, c.strides, c.pad, 'NHWC', c.dilations)

/** d(Σ conv2d(x, filter) · dy)/d filter on the active backend, as TF.js's tf.grad computes it. */
function filterGradient(c: Case): { dy: Float32Array; dyShape: number[]; grad: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(c.x, c.xShape)
    const filter = tf.tensor4d(c.filter, c.filterShape)
    const dyShape = conv(c, x, filter).shape
    const dy = dyFor(c, dyShape)
    const dyT = tf.tensor4d(dy, dyShape)
    const grad = tf.grad((f) => tf.sum(tf.mul(conv(c, x, f as tf.Tensor4D), dyT)))(filter)
    return { dy, dyShape, grad: grad.dataSync() as Float32Array }
  })
}

/** The kernel called directly: the only way to give it dilations. */
function kernelGradient(c: Case, dyShape: number[]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(c.x, c.xShape)
    const dy = tf.tensor4d(dyFor(c, dyShape), dyShape as Shape4D)
    const attrs: FilterGradientAttrs = {
      strides: c.strides,
      pad: c.pad,
      dataFormat: 'NHWC',
      filterShape: c.filterShape,
      dilations: c.dilations,
    }
    const out = tf
      .engine()
      .runKernel(conv2DBackpropFilterConfig.kernelName, { x, dy }, { ...attrs })
    return (out as tf.Tensor).dataSync() as Float32Array
  })
}

/** Output size and leading padding of one spatial dimension, by TensorFlow's rules. */
function outAndPad(c: Case, axis: 0 | 1): [number, number] {
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

/** dW[i, j, ci, co] = Σ x[b, y·s + i·d − pad, x·s + j·d − pad, ci] · dy[b, y, x, co], in float64. */
function reference(c: Case, dy: Float32Array): Float64Array {
  const [batch, height, width, inC] = c.xShape
  const [fh, fw, , outC] = c.filterShape
  const [oh, top] = outAndPad(c, 0)
  const [ow, left] = outAndPad(c, 1)
  const dw = new Float64Array(fh * fw * inC * outC)
  for (let i = 0; i < fh; i++)
    for (let j = 0; j < fw; j++)
      for (let b = 0; b < batch; b++)
        for (let y = 0; y < oh; y++) {
          const row = y * c.strides[0] + i * c.dilations[0] - top
          if (row < 0 || row >= height) continue
          for (let x = 0; x < ow; x++) {
            const col = x * c.strides[1] + j * c.dilations[1] - left
            if (col < 0 || col >= width) continue
            for (let ci = 0; ci < inC; ci++) {
              const xv = c.x[((b * height + row) * width + col) * inC + ci]!
              for (let co = 0; co < outC; co++) {
                const dv = dy[((b * oh + y) * ow + x) * outC + co]!
                dw[((i * fw + j) * inC + ci) * outC + co]! += xv * dv
              }
            }
          }
        }
  return dw
}

/** ‖a − b‖ / ‖b‖ (absolute when b is zero). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let diff = 0
  let norm = 0
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2
    norm += b[i]! ** 2
  }
  return Math.sqrt(diff) / (norm > 0 ? Math.sqrt(norm) : 1)
}

const liveData = () => [tf.memory().numTensors, tf.engine().backend.numDataIds()]

describe.each(BACKENDS)('the conv2d filter gradient on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend)
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { dy, grad } = filterGradient(c)
    expect(relativeError(grad, reference(c, dy))).toBeLessThan(TOLERANCE)
  })

  it('is refused by TF.js for dilations above 1, on this backend too', () => {
    expect(() => filterGradient(DILATED_CASES[0]!)).toThrow(/dilation rates greater than 1/)
  })
})

describe("Pollen's wasm Conv2DBackpropFilter", () => {
  beforeAll(async () => {
    await useBackend('wasm')
  })

  it('is registered by useBackend, once', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc).toBe(
      conv2DBackpropFilterConfig.kernelFunc,
    )
    expect(registerWasmKernels()).toEqual([])
  })

  it('agrees with the cpu backend on every case', async () => {
    const onCpu = await (async () => {
      await useBackend('cpu')
      return CASES.map((c) => filterGradient(c).grad)
    })()
    await useBackend('wasm')
    for (const [i, c] of CASES.entries()) {
      expect(relativeError(filterGradient(c).grad, onCpu[i]!), c.name).toBeLessThan(TOLERANCE)
    }
  })

  it.each(DILATED_CASES.map((c) => [c.name, c] as const))('honours %s', (_, c) => {
    const x = tf.tensor4d(c.x, c.xShape)
    const dyShape = tf.tidy(() => conv(c, x, tf.tensor4d(c.filter, c.filterShape)).shape)
    x.dispose()
    const grad = kernelGradient(c, dyShape)
    expect(relativeError(grad, reference(c, dyFor(c, dyShape)))).toBeLessThan(TOLERANCE)
  })

  it('refuses NCHW, naming the format', () => {
    const c = CASES[0]!
    const [b, h, w, ch] = c.xShape
    const x = tf.zeros([b, ch, h, w])
    const dy = tf.zeros([b, c.filterShape[3], h, w])
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: c.filterShape }
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs)).toThrow(
      "supports dataFormat 'NHWC' only, got 'NCHW'",
    )
    tf.dispose([x, dy])
  })

  it('leaves no tensor and no wasm buffer behind', () => {
    // Slicing (a stride that skips the last rows), one input channel, and the all-padding case.
    const cases = CASES.filter(
      (c, i) => i < 6 || c.xShape[3] === 1 || typeof c.pad === 'object' || c.pad === 2,
    )
    for (const c of cases) filterGradient(c)
    const before = liveData()
    for (let round = 0; round < 3; round++) for (const c of cases) filterGradient(c)
    expect(liveData()).toEqual(before)
  })
})

describe('training the CNN presets on wasm', () => {
  let digits: Digits

  beforeAll(async () => {
    await useBackend('wasm')
    const mnist = await loadMnist()
    digits = subset(
      mnist.train,
      Array.from({ length: 128 }, (_, i) => i),
    )
  })

  const applyDelta = (weights: NamedTensor[], delta: NamedTensor[]): NamedTensor[] =>
    weights.map((w, i) => ({ ...w, data: w.data.map((v, j) => v + delta[i]!.data[j]!) }))

  it.each<PresetName>(['synet', 'mnist-cnn'])(
    '%s: lowers the loss on its digits in a few steps, leaking nothing',
    async (preset) => {
      const model = buildModel({ preset })
      expect(missingTrainingKernels(model, 'wasm')).toEqual([])
      const weights = getWeights(model)
      const before = await evaluate({ model, weights, examples: digits })
      const live = liveData()
      const r = await trainLocally({
        model,
        weights,
        examples: digits,
        plan: { optimizer: 'adam', learningRate: 0.001, batchSize: 16, localEpochs: 1 },
        seed: 1,
      })
      expect(liveData()).toEqual(live)
      expect(r.steps).toBe(8)
      const after = await evaluate({
        model,
        weights: applyDelta(weights, r.delta),
        examples: digits,
      })
      expect(after.loss).toBeLessThan(before.loss - 0.1) // ~2.30 -> ~1.8-2.0
      model.dispose()
    },
  )
})
