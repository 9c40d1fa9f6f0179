// The issue-16 presets train on their kind of data: cifar-cnn on 32×32 RGB bytes, tabular-mlp
// on scaled float rows. Small separable problems, so a few steps must lower the loss.
import { beforeAll, describe, expect, it } from 'vitest'
import { type Examples, mulberry32 } from '../data/index.ts'
import { buildSeededModel, getWeights, type ModelSpec } from '../models/index.ts'
import { useBackend } from '../tf/index.ts'
import { evaluate, trainLocally } from './index.ts'

beforeAll(async () => {
  await useBackend('wasm')
})

/** Images whose class is the channel that is bright (red, green, blue), with noise. */
function colours(count: number, seed: number): Examples {
  const random = mulberry32(seed)
  const size = 32 * 32 * 3
  const features = new Uint8Array(count * size)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const label = i % 3
    labels[i] = label
    for (let p = 0; p < 32 * 32; p++)
      for (let c = 0; c < 3; c++)
        features[i * size + p * 3 + c] = c === label ? 150 + random() * 100 : random() * 100
  }
  return { count, shape: [32, 32, 3], features, labels }
}

/** Rows of 4 standard-scaled readings whose class is whether the first two sum above 0. */
function rows(count: number, seed: number): Examples {
  const random = mulberry32(seed)
  const features = new Float32Array(count * 4).map(() => 2 * random() - 1)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) labels[i] = features[i * 4]! + features[i * 4 + 1]! > 0 ? 1 : 0
  return { count, shape: [4], features, labels }
}

async function learns(spec: ModelSpec, train: Examples, test: Examples, steps: number) {
  const model = buildSeededModel(spec, 1)
  try {
    const weights = getWeights(model)
    const before = await evaluate({ model, examples: test, weights })
    const result = await trainLocally({
      model,
      weights,
      examples: train,
      plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localEpochs: 5, maxSteps: steps },
      seed: 2,
    })
    const after = getWeights(model)
    const trained = await evaluate({ model, examples: test, weights: after })
    return { before, trained, steps: result.steps }
  } finally {
    model.dispose()
  }
}

describe('the sized presets train on their data', () => {
  it('cifar-cnn tells colours apart in 12 steps', async () => {
    const { before, trained } = await learns(
      { preset: 'cifar-cnn', classes: 3 },
      colours(48, 1),
      colours(30, 2),
      12,
    )
    expect(trained.loss).toBeLessThan(before.loss)
    expect(trained.accuracy).toBeGreaterThan(0.9)
  }, 60_000)

  it('tabular-mlp learns a linear rule on scaled rows', async () => {
    const { before, trained } = await learns(
      { preset: 'tabular-mlp', inputs: 4, classes: 2, hidden: [64, 64] },
      rows(400, 3),
      rows(200, 4),
      120,
    )
    expect(trained.loss).toBeLessThan(before.loss)
    expect(trained.accuracy).toBeGreaterThan(0.9)
  })
})
