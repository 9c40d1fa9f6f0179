import { tfl } from '../tf/index.ts'
import { toLayersTopology } from './topology.ts'

/**
 * Topologies the check must refuse, as an admin (or a hostile script) would send them: the ones
 * issue 14 saw stop or poison the coordinator, and a few more. Shared by the check's unit tests,
 * its fuzz suite and the integration tests over HTTP. `refusal` is a fragment of the message.
 */

const glorot = {
  class_name: 'VarianceScaling',
  config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
}
const zeros = { class_name: 'Zeros', config: {} }

export function dense(name: string, units: number, extra: Record<string, unknown> = {}) {
  return {
    class_name: 'Dense',
    config: {
      name,
      units,
      activation: 'relu',
      use_bias: true,
      kernel_initializer: glorot,
      bias_initializer: zeros,
      ...extra,
    },
  }
}

export function sequential(layers: unknown[], name = 'custom') {
  return { class_name: 'Sequential', config: { name, layers } }
}

/** A 784-input MLP whose hidden layer has `units` units (a 10-class softmax on top). */
export const mlp = (units: number, hidden: Record<string, unknown> = {}) =>
  sequential([
    dense('hidden', units, { batch_input_shape: [null, 784], ...hidden }),
    dense('out', 10, { activation: 'softmax' }),
  ])

/** Two Dense layers that take each other as input: TF.js's deserialiser loops for ever on it. */
export const cycle = {
  class_name: 'Model',
  config: {
    name: 'loop',
    layers: [
      {
        name: 'in',
        class_name: 'InputLayer',
        config: { batch_input_shape: [null, 784], dtype: 'float32', sparse: false, name: 'in' },
        inbound_nodes: [],
      },
      { ...dense('a', 10), name: 'a', inbound_nodes: [[['b', 0, 0, {}]]] },
      { ...dense('b', 10), name: 'b', inbound_nodes: [[['a', 0, 0, {}]]] },
    ],
    input_layers: [['in', 0, 0]],
    output_layers: [['b', 0, 0]],
  },
}

const conv = (filters: number) =>
  sequential([
    {
      class_name: 'Conv2D',
      config: {
        name: 'conv',
        filters,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: 'same',
        activation: 'relu',
        batch_input_shape: [null, 28, 28, 1],
      },
    },
    { class_name: 'Flatten', config: { name: 'flatten' } },
    dense('out', 10, { activation: 'softmax' }),
  ])

export const HOSTILE_TOPOLOGIES: readonly { what: string; topology: object; refusal: RegExp }[] = [
  {
    what: 'two Dense layers that take each other as input',
    topology: cycle,
    refusal: /'a'.*'b'.*cycle/,
  },
  {
    what: 'an Embedding of input_dim 1e9',
    topology: sequential([
      {
        class_name: 'Embedding',
        config: { name: 'embed', input_dim: 1e9, output_dim: 16, batch_input_shape: [null, 10] },
      },
      { class_name: 'Flatten', config: { name: 'flatten' } },
      dense('out', 10, { activation: 'softmax' }),
    ]),
    refusal: /'embed'.*'Embedding' is not supported/,
  },
  {
    what: 'a Conv2D of 100,000 filters',
    topology: conv(1e5),
    refusal: /'conv'.*activations per example.*1,000,000/,
  },
  { what: 'a Conv2D of 1,000,000 filters', topology: conv(1e6), refusal: /'conv'.*budget/ },
  {
    what: 'a Dense of 1,000,000 units',
    topology: mlp(1e6),
    refusal: /'hidden'.*785,000,000 parameters.*10,000,000/,
  },
  {
    what: 'a Dense of 200,000 units',
    topology: mlp(200_000),
    refusal: /'hidden'.*157,000,000 parameters.*10,000,000/,
  },
  {
    what: 'an orthogonal initializer on 784×2000',
    topology: mlp(2000, {
      kernel_initializer: { class_name: 'Orthogonal', config: { gain: 1, seed: null } },
    }),
    refusal: /'hidden'.*Orthogonal initializer is not supported/,
  },
]

/**
 * A small functional model with branches, merges and normalisation, as TF.js writes it (built
 * here, so the topology is TF.js's own), with the parameter count TF.js reports.
 */
export function smallFunctional(): { topology: object; parameters: number } {
  const input = tfl.input({ shape: [12, 12, 1], name: 'image' })
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
    layer.apply(x) as tfl.SymbolicTensor
  const a = apply(
    tfl.layers.conv2d({
      name: 'a',
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
    }),
    input,
  )
  const b = apply(
    tfl.layers.conv2d({ name: 'b', filters: 4, kernelSize: 5, padding: 'same', useBias: false }),
    input,
  )
  const sum = apply(tfl.layers.add({ name: 'sum' }), [a, b])
  const both = apply(tfl.layers.concatenate({ name: 'both' }), [sum, a])
  const norm = apply(tfl.layers.batchNormalization({ name: 'norm' }), both)
  const pool = apply(tfl.layers.averagePooling2d({ name: 'pool', poolSize: 3, strides: 2 }), norm)
  const gap = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), pool)
  const shaped = apply(tfl.layers.reshape({ name: 'shape', targetShape: [2, 4] }), gap)
  const flat = apply(tfl.layers.flatten({ name: 'flat' }), shaped)
  const out = apply(tfl.layers.dense({ name: 'out', units: 10, activation: 'softmax' }), flat)
  const model = tfl.model({ inputs: input, outputs: out, name: 'small' })
  try {
    return { topology: toLayersTopology(model), parameters: model.countParams() }
  } finally {
    model.dispose()
  }
}

/** A small CNN as a Sequential topology: every kind of layer a Sequential model may hold. */
export const smallCnn = sequential([
  {
    class_name: 'Conv2D',
    config: {
      name: 'conv',
      filters: 4,
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: 'valid',
      activation: 'relu',
      batch_input_shape: [null, 12, 12, 1],
      dtype: 'float32',
    },
  },
  { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2], padding: 'valid' } },
  { class_name: 'BatchNormalization', config: { name: 'norm', axis: -1 } },
  { class_name: 'Dropout', config: { name: 'drop', rate: 0.25, seed: null } },
  { class_name: 'Activation', config: { name: 'act', activation: 'tanh' } },
  { class_name: 'Flatten', config: { name: 'flatten' } },
  dense('fc', 16, { kernel_initializer: { class_name: 'HeNormal', config: { seed: 7 } } }),
  dense('out', 10, { activation: 'softmax' }),
])
