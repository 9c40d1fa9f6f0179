import { beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../../data/mnist-file.ts'
import { type Digits, subset } from '../data/index.ts'
import { buildModel, getWeights, type MnistPresetName } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { tf, useBackend } from '../tf/index.ts'
import { evaluate, missingTrainingKernels, trainLocally } from '../training/index.ts'
import { conv2DBackpropFilterConfig, registerWasmKernels } from './index.ts'
import {
  BACKENDS,
  CASES,
  type Case,
  conv,
  convGradient,
  DILATED_CASES,
  dyFor,
  kernelGradient,
  liveData,
  outAndPad,
  relativeError,
  TOLERANCE,
} from './conv-cases.ts'

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

describe.each(BACKENDS)('the conv2d filter gradient on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend)
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { dy, grad } = convGradient(c, 'filter')
    expect(relativeError(grad, reference(c, dy))).toBeLessThan(TOLERANCE)
  })

  it('is refused by TF.js for dilations above 1, on this backend too', () => {
    expect(() => convGradient(DILATED_CASES[0]!, 'filter')).toThrow(/dilation rates greater than 1/)
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
      return CASES.map((c) => convGradient(c, 'filter').grad)
    })()
    await useBackend('wasm')
    for (const [i, c] of CASES.entries()) {
      expect(relativeError(convGradient(c, 'filter').grad, onCpu[i]!), c.name).toBeLessThan(
        TOLERANCE,
      )
    }
  })

  it.each(DILATED_CASES.map((c) => [c.name, c] as const))('honours %s', (_, c) => {
    const x = tf.tensor4d(c.x, c.xShape)
    const dyShape = tf.tidy(() => conv(c, x, tf.tensor4d(c.filter, c.filterShape)).shape)
    x.dispose()
    const grad = kernelGradient(c, 'filter', dyShape)
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
    for (const c of cases) convGradient(c, 'filter')
    const before = liveData()
    for (let round = 0; round < 3; round++) for (const c of cases) convGradient(c, 'filter')
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

  it.each<MnistPresetName>(['synet', 'mnist-cnn'])(
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
