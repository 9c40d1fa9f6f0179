import { beforeAll, describe, expect, it } from 'vitest'
import type { Digits } from '../data/index.ts'
import {
  buildModel,
  buildSeededModel,
  getWeights,
  toLayersTopology,
  updateSpec,
} from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { tfl } from '../tf/index.ts'
import { trainLocally } from './index.ts'
import { identical, mnistDigits, plan } from './testing.ts'

/** A fixed feature extractor (frozen) and a trained head: the usual way to train on phones. */
const topology = () =>
  toLayersTopology(
    tfl.sequential({
      name: 'frozen-features',
      layers: [
        tfl.layers.dense({
          name: 'features',
          inputShape: [784],
          units: 32,
          activation: 'relu',
          trainable: false,
        }),
        tfl.layers.batchNormalization({ name: 'norm' }),
        tfl.layers.dense({ name: 'head', units: 10, activation: 'softmax' }),
      ],
    }),
  )

let model: ReturnType<typeof buildSeededModel>
let train: Digits
let initial: NamedTensor[]

beforeAll(async () => {
  ;({ train } = await mnistDigits(
    () => (model ??= buildSeededModel({ preset: 'custom', topology: topology() }, 3)),
  ))
  initial = getWeights(model)
})

describe('trainLocally with frozen layers', () => {
  it('trains and returns only the weights of the layers that train', async () => {
    // TF.js lists trainable weights first, then the rest (moving statistics, frozen layers).
    expect(updateSpec(model).map((w) => w.name)).toEqual([
      'norm/gamma',
      'norm/beta',
      'head/kernel',
      'head/bias',
      'norm/moving_mean',
      'norm/moving_variance',
    ])
    const result = await trainLocally({ model, weights: initial, examples: train, plan, seed: 1 })
    expect(result.delta.map((t) => t.name)).toEqual(updateSpec(model).map((w) => w.name))
    for (const t of result.delta)
      expect(
        t.data.some((v) => v !== 0),
        `${t.name} moved`,
      ).toBe(true)
    // The frozen layer's weights in the model after training: bit for bit as they came.
    const after = getWeights(model)
    const frozen = (ws: NamedTensor[]) => ws.filter((t) => t.name.startsWith('features/'))
    expect(frozen(after)).toHaveLength(2)
    expect(identical(frozen(after), frozen(initial))).toBe(true)
    expect(result.loss).toBeLessThan(Math.log(10))
  })

  it('refuses a model whose every layer is frozen: it has nothing to train', () => {
    const all = tfl.sequential({
      name: 'all-frozen',
      layers: [
        tfl.layers.dense({
          name: 'out',
          inputShape: [784],
          units: 10,
          activation: 'softmax',
          trainable: false,
        }),
      ],
    })
    expect(() => buildModel({ preset: 'custom', topology: toLayersTopology(all) })).toThrow(
      /model 'all-frozen' has no layer to train: every layer is marked trainable: false/,
    )
    all.dispose()
  })
})
