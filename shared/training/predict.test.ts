import { beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../../data/mnist-file.ts'
import { type Digits, MNIST_SHAPE } from '../data/index.ts'
import { buildModel, getWeights } from '../models/index.ts'
import { tf, useBackend } from '../tf/index.ts'
import { trainLocally } from './index.ts'
import { predict } from './predict.ts'

let test: Digits
let train: Digits
beforeAll(async () => {
  await useBackend('wasm')
  ;({ test, train } = await loadMnist())
})

const MNIST = [...MNIST_SHAPE]
const example = (digits: Digits, i: number) => digits.features.slice(i * 784, (i + 1) * 784)

describe('predict', () => {
  it('gives ten probabilities summing to 1, and reads digits once trained', async () => {
    const model = buildModel({ preset: 'mnist-2nn' })
    const initial = getWeights(model)
    const before = tf.memory().numTensors
    const probs = await predict(model, initial, example(test, 0), MNIST)
    expect(probs).toHaveLength(10)
    expect(probs.every((p) => p >= 0 && p <= 1)).toBe(true)
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    expect(tf.memory().numTensors).toBe(before)

    const first = {
      count: 2000,
      shape: MNIST,
      features: train.features.subarray(0, 2000 * 784),
      labels: train.labels.subarray(0, 2000),
    }
    const { delta } = await trainLocally({
      model,
      weights: initial,
      examples: first,
      plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
      seed: 1,
    })
    const trained = initial.map((t, i) => ({
      ...t,
      data: t.data.map((v, k) => v + delta[i]!.data[k]!),
    }))
    let right = 0
    for (let i = 0; i < 50; i++) {
      const p = await predict(model, trained, example(test, i), MNIST)
      if (p.indexOf(Math.max(...p)) === test.labels[i]) right++
    }
    expect(right).toBeGreaterThan(40)
  })

  it('refuses an example whose shape does not fit the model, naming both', async () => {
    const model = buildModel({ preset: 'mnist-2nn' })
    await expect(
      predict(model, getWeights(model), new Uint8Array(100), [10, 10, 1]),
    ).rejects.toThrow(/shape \[10, 10, 1\] \(100 values\).*input is \[784\] \(784 values\)/)
    await expect(predict(model, getWeights(model), new Uint8Array(100), MNIST)).rejects.toThrow(
      /100 feature values, expected 1 x 784/,
    )
  })

  it('takes float32 features as they are, bytes scaled by 1/255', async () => {
    const model = buildModel({ preset: 'mnist-2nn' })
    const weights = getWeights(model)
    const bytes = example(test, 3)
    const floats = Float32Array.from(bytes, (v) => v / 255)
    const fromBytes = await predict(model, weights, bytes, MNIST)
    expect(await predict(model, weights, floats, [784])).toEqual(fromBytes)
  })
})
