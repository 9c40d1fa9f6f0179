// Training, evaluation and prediction on examples that are not MNIST digits: tabular float32
// rows with three classes, and RGB images, through the same core the phones run.
import { beforeAll, describe, expect, it } from 'vitest'
import { type Examples, mulberry32 } from '../data/index.ts'
import { getWeights } from '../models/index.ts'
import { tf, tfl, useBackend } from '../tf/index.ts'
import { batchTensors, modelIo } from './common.ts'
import { evaluate, trainLocally } from './index.ts'
import { predict } from './predict.ts'

beforeAll(() => useBackend('cpu'))

/** A softmax regression over `inputs` values into `classes`. */
function linear(inputs: number, classes: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [inputs],
        units: classes,
        activation: 'softmax',
        kernelInitializer: 'zeros',
      }),
    ],
  })
}

/**
 * Tabular rows of 4 standardised values in 3 classes that a linear model separates: class c
 * has column c near +2, the others near 0.
 */
function separable(count: number, seed: number): Examples {
  const random = mulberry32(seed)
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 3)
  const features = new Float32Array(count * 4)
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 4; c++) {
      features[i * 4 + c] = (c === labels[i] ? 2 : 0) + (random() - 0.5)
    }
  }
  return { count, shape: [4], features, labels }
}

describe('examples of any shape', () => {
  it('batchTensors scales bytes by 1/255 and takes float32 values as they are', () => {
    const bytes: Examples = {
      count: 1,
      shape: [2, 1, 1],
      features: Uint8Array.of(255, 51),
      labels: Uint8Array.of(1),
    }
    const floats: Examples = { ...bytes, features: Float32Array.of(-3.5, 7) }
    const io = { inputShape: [2], classes: 3 }
    const [a, b] = [bytes, floats].map((d) => batchTensors(d, [0], io))
    expect(Array.from(a!.x.dataSync())).toEqual([1, 51 / 255].map(Math.fround))
    expect(Array.from(b!.x.dataSync())).toEqual([-3.5, 7])
    expect(Array.from(b!.y.dataSync())).toEqual([0, 1, 0])
    tf.dispose([a!.x, a!.y, b!.x, b!.y])
  })

  it('modelIo takes any shape of the right size, and refuses others naming both', () => {
    const model = linear(3072, 5)
    const rgb: Examples = {
      count: 2,
      shape: [32, 32, 3],
      features: new Uint8Array(2 * 3072),
      labels: Uint8Array.of(0, 4),
    }
    expect(modelIo(model, rgb)).toEqual({ inputShape: [3072], classes: 5 })
    expect(() =>
      modelIo(model, { ...rgb, shape: [28, 28, 1], features: new Uint8Array(1568) }),
    ).toThrow(
      /examples of shape \[28, 28, 1\] \(784 values\) do not fit model '.*', whose input is \[3072\] \(3072 values\)/,
    )
    expect(() => modelIo(model, { ...rgb, labels: Uint8Array.of(0, 5) })).toThrow(
      /label 5 does not fit model '.*' with 5 classes/,
    )
  })

  it('trains and evaluates tabular rows in three classes, and predicts one row', async () => {
    const model = linear(4, 3)
    const weights = getWeights(model)
    const train = separable(300, 1)
    const test = separable(90, 2)
    const before = await evaluate({ model, weights, examples: test })
    expect(before.perLabelAccuracy).toHaveLength(3)
    const { delta } = await trainLocally({
      model,
      weights,
      examples: train,
      plan: { optimizer: 'sgd', learningRate: 0.5, batchSize: 10, localEpochs: 2 },
      seed: 1,
    })
    const trained = weights.map((t, i) => ({
      ...t,
      data: t.data.map((v, k) => v + delta[i]!.data[k]!),
    }))
    const after = await evaluate({ model, weights: trained, examples: test })
    expect(before.accuracy).toBeLessThan(0.5)
    expect(after.accuracy).toBeGreaterThan(0.95)
    expect(after.confusion).toHaveLength(3)
    const probs = await predict(model, trained, Float32Array.of(0, 0, 2, 0), [4])
    expect(probs).toHaveLength(3)
    expect(probs.indexOf(Math.max(...probs))).toBe(2)
  })

  it('refuses to train on examples whose shape does not fit the model', async () => {
    const model = linear(4, 3)
    await expect(
      trainLocally({
        model,
        weights: getWeights(model),
        examples: { ...separable(6, 1), shape: [2, 3], features: new Float32Array(36) },
        plan: { optimizer: 'sgd', learningRate: 0.5, batchSize: 10, localEpochs: 1 },
      }),
    ).rejects.toThrow(/examples of shape \[2, 3\] \(6 values\) do not fit model/)
  })
})
