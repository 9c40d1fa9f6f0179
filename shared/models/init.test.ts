import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../tf/index.ts'
import {
  buildModel,
  getWeights,
  initialWeights,
  MNIST_PRESETS,
  type ModelSpec,
  seedInitializers,
  setWeights,
  toLayersTopology,
} from './index.ts'

beforeAll(async () => {
  await useBackend('wasm')
})

const fingerprint = (weights: { name: string; data: Float32Array }[]) =>
  weights.map((w) => `${w.name}:${Array.from(w.data.subarray(0, 8)).join(',')}`).join('|')

describe('initialWeights', () => {
  const specs: ModelSpec[] = [
    ...MNIST_PRESETS.map((preset) => ({ preset })),
    { preset: 'cifar-cnn', classes: 3 },
    { preset: 'tabular-mlp', inputs: 6, classes: 2 },
  ]
  it.each(specs)('%j: the same seed gives the same weights, another seed others', (spec) => {
    const a = initialWeights(spec, 1)
    expect(fingerprint(initialWeights(spec, 1))).toBe(fingerprint(a))
    const b = initialWeights(spec, 2)
    for (const [i, w] of a.entries()) {
      if (w.name.endsWith('/bias')) continue // zeros whatever the seed
      expect(Array.from(w.data.subarray(0, 8)), w.name).not.toEqual(
        Array.from(b[i]!.data.subarray(0, 8)),
      )
    }
  })

  it('gives every layer its own draw (two layers of one shape do not start equal)', () => {
    const topology = toLayersTopology(buildModel({ preset: 'mnist-2nn' })) as {
      config: { layers: { config: Record<string, unknown> }[] }
    }
    // A 784-200-200-200 stack: fc2 and fc3 have the same shape.
    const layers = topology.config.layers
    layers[2]!.config['units'] = 200
    const weights = initialWeights({ preset: 'custom', topology }, 5)
    const fc2 = weights.find((w) => w.name === 'fc2/kernel')!
    const fc3 = weights.find((w) => w.name === 'fc3/kernel')!
    expect(fc2.data.length).toBe(fc3.data.length)
    expect(Array.from(fc2.data.subarray(0, 16))).not.toEqual(Array.from(fc3.data.subarray(0, 16)))
  })

  it('does not depend on what the process built or trained before', () => {
    const before = fingerprint(initialWeights({ preset: 'mnist-2nn' }, 9))
    // A model of the same preset whose weights were set to something trained-looking.
    const other = buildModel({ preset: 'mnist-2nn' })
    setWeights(
      other,
      getWeights(other).map((w) => ({ ...w, data: w.data.map(() => 0.5) })),
    )
    expect(fingerprint(initialWeights({ preset: 'mnist-2nn' }, 9))).toBe(before)
    other.dispose()
  })

  it('keeps a seed the topology already gives, and seeds only initialisers that take one', () => {
    const topology = {
      layers: [
        { dense_initializer: { class_name: 'GlorotUniform', config: { seed: 42 } } },
        { kernel_initializer: { class_name: 'HeNormal', config: { seed: null } } },
        { bias_initializer: { class_name: 'Zeros', config: {} } },
      ],
    }
    const seeded = seedInitializers(topology, 3) as typeof topology
    expect(seeded.layers[0]!.dense_initializer!.config.seed).toBe(42)
    expect(seeded.layers[1]!.kernel_initializer!.config.seed).toEqual(expect.any(Number))
    expect(seeded.layers[2]!.bias_initializer!.config).toEqual({})
    // The input is left as it was.
    expect(topology.layers[1]!.kernel_initializer!.config.seed).toBeNull()
  })
})
