import { beforeAll, describe, expect, it } from 'vitest'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { tf, tfl, useBackend } from '../tf/index.ts'
import {
  buildModel,
  getWeights,
  MNIST_PRESETS,
  type ModelSpec,
  parameterCount,
  setWeights,
  toLayersTopology,
  weightSpec,
} from './index.ts'

beforeAll(async () => {
  await useBackend('wasm')
})

/** Names, shapes and values bit for bit (toEqual is slow on large typed arrays). */
const sameWeights = (a: NamedTensor[], b: NamedTensor[]): boolean =>
  a.length === b.length &&
  a.every((t, i) => {
    const u = b[i]!
    const [x, y] = [t, u].map(
      (v) => new Uint32Array(v.data.buffer, v.data.byteOffset, v.data.length),
    )
    return (
      t.name === u.name &&
      t.shape.join() === u.shape.join() &&
      x!.length === y!.length &&
      x!.every((v, j) => v === y![j])
    )
  })

describe('presets', () => {
  it.each([
    ['mnist-2nn', 199_210],
    ['mnist-cnn', 1_663_370],
    ['synet', 1_199_882],
  ] as const)('%s has %i parameters', (preset, count) => {
    expect(parameterCount({ preset })).toBe(count)
  })

  it.each<[ModelSpec, number]>([
    [{ preset: 'cifar-cnn' }, 579_402],
    [{ preset: 'cifar-cnn', classes: 3 }, 578_499],
    [{ preset: 'tabular-mlp', inputs: 10 }, 5_514],
    [{ preset: 'tabular-mlp', inputs: 10, classes: 2, hidden: [] }, 22],
    [{ preset: 'tabular-mlp', inputs: 4, classes: 3, hidden: [8] }, 67],
  ])('%j has %i parameters', (spec, count) => {
    expect(parameterCount(spec)).toBe(count)
  })

  it('sizes cifar-cnn and tabular-mlp from their spec', () => {
    const cnn = buildModel({ preset: 'cifar-cnn', classes: 3 })
    expect(cnn.inputs[0]!.shape).toEqual([null, 32, 32, 3])
    expect(cnn.outputs[0]!.shape).toEqual([null, 3])
    const mlp = buildModel({ preset: 'tabular-mlp', inputs: 7, classes: 4, hidden: [16, 8, 4] })
    expect(mlp.inputs[0]!.shape).toEqual([null, 7])
    expect(mlp.outputs[0]!.shape).toEqual([null, 4])
    expect(weightSpec(mlp).map((w) => w.name)).toEqual(
      ['fc1', 'fc2', 'fc3', 'fc4'].flatMap((l) => [`${l}/kernel`, `${l}/bias`]),
    )
    cnn.dispose()
    mlp.dispose()
  })

  it('refuses a tabular-mlp without its inputs', () => {
    expect(() => buildModel({ preset: 'tabular-mlp', classes: 3 })).toThrow(
      /'tabular-mlp' needs 'inputs'/,
    )
  })

  it('names weights after explicit layer names, the same on every build', () => {
    const a = buildModel({ preset: 'synet' })
    const b = buildModel({ preset: 'synet' })
    expect(weightSpec(a)).toEqual(weightSpec(b))
    expect(weightSpec(a)).toEqual([
      { name: 'conv1/kernel', shape: [3, 3, 1, 32] },
      { name: 'conv1/bias', shape: [32] },
      { name: 'conv2/kernel', shape: [3, 3, 32, 64] },
      { name: 'conv2/bias', shape: [64] },
      { name: 'fc1/kernel', shape: [9216, 128] },
      { name: 'fc1/bias', shape: [128] },
      { name: 'fc2/kernel', shape: [128, 10] },
      { name: 'fc2/bias', shape: [10] },
    ])
    // TF.js itself uniquifies the second build's variable names; ours stay put.
    expect(b.weights[0]!.name).not.toBe(a.weights[0]!.name)
    expect(getWeights(b).map((t) => t.name)).toEqual(getWeights(a).map((t) => t.name))
    a.dispose()
    b.dispose()
  })

  it('builds each MNIST preset to one input and a 10-way output', () => {
    for (const preset of MNIST_PRESETS) {
      const model = buildModel({ preset })
      expect(model.outputs[0]!.shape).toEqual([null, 10])
      expect(model.inputs[0]!.shape).toEqual(
        preset === 'mnist-2nn' ? [null, 784] : [null, 28, 28, 1],
      )
      model.dispose()
    }
  })

  it('does not leak tensors when building and disposing', () => {
    const before = tf.memory().numTensors
    for (const preset of MNIST_PRESETS) buildModel({ preset }).dispose()
    buildModel({ preset: 'cifar-cnn' }).dispose()
    expect(parameterCount({ preset: 'mnist-cnn' })).toBe(1_663_370)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('rejects an unknown preset', () => {
    expect(() => buildModel({ preset: 'resnet' } as unknown as ModelSpec)).toThrow(
      /unknown model preset 'resnet'/,
    )
  })
})

describe('getWeights / setWeights', () => {
  it('round-trips, copying data out', () => {
    const a = buildModel({ preset: 'mnist-2nn' })
    const b = buildModel({ preset: 'mnist-2nn' })
    const wa = getWeights(a)
    expect(wa.map((t) => [t.name, t.shape, t.dtype])).toEqual([
      ['fc1/kernel', [784, 200], 'float32'],
      ['fc1/bias', [200], 'float32'],
      ['fc2/kernel', [200, 200], 'float32'],
      ['fc2/bias', [200], 'float32'],
      ['fc3/kernel', [200, 10], 'float32'],
      ['fc3/bias', [10], 'float32'],
    ])
    expect(sameWeights(getWeights(b), wa)).toBe(false)
    const before = tf.memory().numTensors
    setWeights(b, [...wa].reverse()) // matched by name, not order
    expect(tf.memory().numTensors).toBe(before)
    expect(sameWeights(getWeights(b), wa)).toBe(true)
    // A copy: changing what getWeights returned does not touch the model.
    wa[0]!.data[0] = 123
    expect(getWeights(a)[0]!.data[0]).not.toBe(123)
    a.dispose()
    b.dispose()
  })

  it('throws naming the missing, unknown or mismatched tensor, leaving the model as it was', () => {
    const model = buildModel({ preset: 'mnist-2nn' })
    const w = getWeights(model)
    const zeros = w.map((t) => ({ ...t, data: new Float32Array(t.data.length) }))
    expect(() => setWeights(model, zeros.slice(1))).toThrow(/no tensor for weight 'fc1\/kernel'/)
    expect(() => setWeights(model, [...zeros, { ...zeros[1]!, name: 'fc9/bias' }])).toThrow(
      /no weight named 'fc9\/bias'/,
    )
    const badShape = zeros.map((t) => (t.name === 'fc2/bias' ? { ...t, shape: [20, 10] } : t))
    expect(() => setWeights(model, badShape)).toThrow(/'fc2\/bias' has shape \[20, 10\].*\[200\]/)
    const badSize = zeros.map((t) =>
      t.name === 'fc3/bias' ? { ...t, data: new Float32Array(3) } : t,
    )
    expect(() => setWeights(model, badSize)).toThrow(/'fc3\/bias' has 3 values/)
    expect(() => setWeights(model, [...zeros, zeros[0]!])).toThrow(/'fc1\/kernel' given twice/)
    expect(sameWeights(getWeights(model), w)).toBe(true)
    model.dispose()
  })
})

describe('custom topologies', () => {
  it('rebuilds a preset from its exported topology with the same weight spec', () => {
    const specs: ModelSpec[] = [
      ...MNIST_PRESETS.map((preset) => ({ preset })),
      { preset: 'cifar-cnn', classes: 4 },
      { preset: 'tabular-mlp', inputs: 9, classes: 3 },
    ]
    for (const spec of specs) {
      const original = buildModel(spec)
      const topology = toLayersTopology(original)
      // What crosses the wire is JSON.
      const rebuilt = buildModel({
        preset: 'custom',
        topology: JSON.parse(JSON.stringify(topology)),
      })
      expect(weightSpec(rebuilt)).toEqual(weightSpec(original))
      expect(toLayersTopology(rebuilt)).toEqual(topology)
      setWeights(rebuilt, getWeights(original))
      const x = tf.randomUniform([2, ...(original.inputs[0]!.shape.slice(1) as number[])])
      const [p, q] = [original, rebuilt].map((m) => (m.predict(x) as tf.Tensor).arraySync())
      expect(q).toEqual(p)
      tf.dispose(x)
      original.dispose()
      rebuilt.dispose()
    }
  })

  it('accepts a model.json-like object and agrees with tf.models.modelFromJSON', async () => {
    const original = buildModel({ preset: 'mnist-cnn' })
    const topology = toLayersTopology(original)
    const ours = buildModel({ preset: 'custom', topology: { modelTopology: topology } })
    const theirs = await tfl.models.modelFromJSON({ modelTopology: topology } as never)
    expect(toLayersTopology(ours)).toEqual(toLayersTopology(theirs))
    expect(weightSpec(ours)).toEqual(weightSpec(theirs))
    for (const m of [original, ours, theirs]) m.dispose()
  })

  it('throws a clear error for garbage', () => {
    const custom = (topology: unknown) => () => buildModel({ preset: 'custom', topology })
    expect(custom(null)).toThrow(/invalid custom model topology: expected an object, got null/)
    expect(custom('Sequential')).toThrow(/expected an object, got 'Sequential'/)
    expect(custom({ config: {} })).toThrow(/'class_name' must be a string/)
    expect(custom({ class_name: 'Sequential' })).toThrow(/'config' of Sequential must be an object/)
    expect(custom({ class_name: 'NoSuchModel', config: {} })).toThrow(/unknown class 'NoSuchModel'/)
    expect(custom({ class_name: 'Dense', config: { units: 3 } })).toThrow(/is a layer, not a model/)
    const topology = toLayersTopology(buildModel({ preset: 'mnist-2nn' })) as {
      config: { layers: { class_name: string; config: Record<string, unknown> }[] }
    }
    const broken = structuredClone(topology)
    broken.config.layers[1]!.class_name = 'Densely'
    expect(custom(broken)).toThrow(/invalid custom model topology: Sequential: .*Densely/)
    const noUnits = structuredClone(topology)
    delete noUnits.config.layers[1]!.config['units']
    expect(custom(noUnits)).toThrow(/invalid custom model topology: Sequential: /)
  })

  it('rejects a model that is not one input to [batch, classes]', () => {
    const custom = (model: tfl.LayersModel) => () =>
      buildModel({ preset: 'custom', topology: toLayersTopology(model) })
    const conv = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ name: 'c', inputShape: [28, 28, 1], filters: 2, kernelSize: 3 }),
      ],
    })
    expect(custom(conv)).toThrow(/outputs shape \[null,26,26,2\], expected \[batch, classes\]/)
    const a = tfl.input({ shape: [784], name: 'a' })
    const b = tfl.input({ shape: [784], name: 'b' })
    const sum = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor
    const out = tfl.layers.dense({ name: 'out', units: 10 }).apply(sum) as tfl.SymbolicTensor
    expect(custom(tfl.model({ inputs: [a, b], outputs: out }))).toThrow(/has 2 inputs, expected 1/)
  })
})
