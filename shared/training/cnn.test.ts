// The training path of a CNN on each backend (wasm through Pollen's own Conv2DBackpropFilter),
// on a tiny CNN because the cpu backend is slow (~1 example/s for synet): conv and pooling
// gradients, dropout on in training, no leaks. The presets themselves train in
// shared/kernels/index.test.ts.
import { beforeAll, describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/index.ts'
import { buildModel, getWeights, toLayersTopology } from '../models/index.ts'
import { type BackendName, tf, tfl, useBackend } from '../tf/index.ts'
import { evaluate, missingTrainingKernels, trainLocally } from './index.ts'

const tinyCnn = () =>
  tfl.sequential({
    name: 'tiny-cnn',
    layers: [
      tfl.layers.conv2d({
        name: 'conv',
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
      }),
      tfl.layers.maxPooling2d({ name: 'pool', poolSize: 4 }),
      tfl.layers.dropout({ name: 'drop', rate: 0.25 }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ name: 'out', units: 10, activation: 'softmax' }),
    ],
  })

describe.each<BackendName>(['cpu', 'wasm'])('training a CNN on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend)
  })

  it('moves every weight and lowers the loss, without leaks', async () => {
    const model = buildModel({ preset: 'custom', topology: toLayersTopology(tinyCnn()) })
    expect(missingTrainingKernels(model)).toEqual([])
    const weights = getWeights(model)
    const random = mulberry32(1)
    const examples = {
      count: 40,
      shape: [28, 28, 1],
      features: Uint8Array.from({ length: 40 * 784 }, () => Math.floor(random() * 256)),
      labels: Uint8Array.from({ length: 40 }, (_, i) => i % 10),
    }
    const before = tf.memory().numTensors
    const first = await evaluate({ model, weights, examples })
    const r = await trainLocally({
      model,
      weights,
      examples,
      plan: { optimizer: 'adam', learningRate: 0.01, batchSize: 8, localEpochs: 5 },
      seed: 1,
    })
    expect(tf.memory().numTensors).toBe(before)
    expect([r.steps, r.examples]).toEqual([25, 40])
    for (const t of r.delta)
      expect(
        t.data.some((v) => v !== 0),
        t.name,
      ).toBe(true)
    const last = await evaluate({ model, examples })
    expect(last.loss).toBeLessThan(first.loss)
    model.dispose()
  })
})
