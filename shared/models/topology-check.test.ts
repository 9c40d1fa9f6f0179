import { beforeAll, describe, expect, it } from 'vitest'
import { tfl, useBackend } from '../tf/index.ts'
import { buildModel, MNIST_PRESETS, type ModelSpec, toLayersTopology } from './index.ts'
import {
  cycle,
  dense,
  HOSTILE_TOPOLOGIES,
  mlp,
  sequential,
  smallFunctional,
} from './topology-cases.ts'
import { checkTopology, DEFAULT_MODEL_BUDGET, TopologyError } from './topology-check.ts'

beforeAll(async () => {
  await useBackend('wasm')
})

/** The check's message for a topology it must refuse (and a failed test if it accepts). */
function refusal(topology: unknown, budget = DEFAULT_MODEL_BUDGET): string {
  try {
    checkTopology(topology, budget)
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError)
    return (error as Error).message
  }
  throw new Error(`accepted ${JSON.stringify(topology).slice(0, 200)}`)
}

/** The topology TF.js writes for `model`, with its parameter count; the model disposed. */
function written(model: tfl.LayersModel): { topology: object; parameters: number } {
  try {
    return { topology: toLayersTopology(model), parameters: model.countParams() }
  } finally {
    model.dispose()
  }
}

describe('checkTopology', () => {
  it.each(MNIST_PRESETS)(
    'passes the %s preset with the parameter count TF.js reports',
    (preset) => {
      const { topology, parameters } = written(buildModel({ preset }))
      const summary = checkTopology(topology)
      expect(summary.parameters).toBe(parameters)
      expect(summary.outputShape).toEqual([10])
      expect(summary.inputShape).toEqual(preset === 'mnist-2nn' ? [784] : [28, 28, 1])
    },
  )

  it.each<[ModelSpec, number[], number]>([
    [{ preset: 'cifar-cnn', classes: 3 }, [32, 32, 3], 3],
    [{ preset: 'tabular-mlp', inputs: 12, classes: 5 }, [12], 5],
  ])('passes %j with the parameter count TF.js reports', (spec, input, classes) => {
    const { topology, parameters } = written(buildModel(spec))
    const summary = checkTopology(topology)
    expect(summary.parameters).toBe(parameters)
    expect(summary.outputShape).toEqual([classes])
    expect(summary.inputShape).toEqual(input)
  })

  it('counts the activations per example: every layer output and the input', () => {
    // synet: 784 in, 26·26·32, 24·24·64, 12·12·64 three times (pool, dropout, flatten), 128 twice, 10.
    const { topology } = written(buildModel({ preset: 'synet' }))
    expect(checkTopology(topology).activations).toBe(
      784 + 26 * 26 * 32 + 24 * 24 * 64 + 3 * 12 * 12 * 64 + 2 * 128 + 10,
    )
  })

  it('passes a functional model with branches, merges and normalisation, as TF.js counts it', () => {
    const { topology, parameters } = smallFunctional()
    const summary = checkTopology(topology)
    expect(summary.parameters).toBe(parameters)
    expect(summary.layers).toBe(11)
    expect(summary.outputShape).toEqual([10])
  })

  it.each(HOSTILE_TOPOLOGIES)('refuses $what, saying why', ({ topology, refusal: why }) => {
    expect(refusal(topology)).toMatch(why)
  })

  it('refuses a cycle in linear time, whatever its length, naming the layers in it', () => {
    const layers = Array.from({ length: 500 }, (_, i) => ({
      ...dense(`d${i}`, 10),
      name: `d${i}`,
      inbound_nodes: [[[`d${(i + 1) % 500}`, 0, 0, {}]]],
    }))
    const big = {
      class_name: 'Model',
      config: {
        layers: [cycle.config.layers[0], ...layers],
        input_layers: [['in', 0, 0]],
        output_layers: [['d0', 0, 0]],
      },
    }
    const started = performance.now()
    expect(refusal(big)).toMatch(/'d0', 'd1', .*cycle/)
    expect(performance.now() - started).toBeLessThan(1000)
    const self = structuredClone(cycle)
    self.config.layers[2]!.inbound_nodes = [[['b', 0, 0, {}]]]
    expect(refusal(self)).toMatch(/'b'.*cycle/)
  })

  it('refuses an inbound layer that is not defined, and a layer that leads nowhere', () => {
    const missing = structuredClone(cycle)
    missing.config.layers[1]!.inbound_nodes = [[['ghost', 0, 0, {}]]]
    expect(refusal(missing)).toMatch(
      /layer 'a' \(Dense\) takes input from 'ghost', which is not a layer/,
    )
    const dead = structuredClone(cycle)
    dead.config.layers[1]!.inbound_nodes = [[['in', 0, 0, {}]]]
    dead.config.layers[2]!.inbound_nodes = [[['in', 0, 0, {}]]]
    expect(refusal(dead)).toMatch(/layer 'a' \(Dense\) does not lead to the output 'b'/)
  })

  it('refuses a shared layer, a second input and a node index TF.js would wait on for ever', () => {
    const shared = structuredClone(cycle)
    shared.config.layers[1]!.inbound_nodes = [[['in', 0, 0, {}]], [['in', 0, 0, {}]]]
    expect(refusal(shared)).toMatch(/'a' \(Dense\) is called 2 times/)
    const later = structuredClone(cycle)
    later.config.layers[1]!.inbound_nodes = [[['in', 1, 0, {}]]]
    expect(refusal(later)).toMatch(/'a' \(Dense\): each input must be \[layer name, 0, 0, \{\}\]/)
  })

  it('refuses unknown layers, options, activations and initializers, listing what is supported', () => {
    expect(
      refusal(sequential([{ class_name: 'LSTM', config: { name: 'rnn', units: 4 } }])),
    ).toMatch(/layer 'rnn': class 'LSTM' is not supported \(one of InputLayer, Dense, Conv2D/)
    expect(refusal(mlp(10, { kernel_regularizer: { class_name: 'L1L2', config: {} } }))).toMatch(
      /'hidden' \(Dense\): kernel_regularizer must be null/,
    )
    expect(refusal(mlp(10, { input_dim: 784 }))).toMatch(
      /'hidden' \(Dense\): unknown option 'input_dim'/,
    )
    expect(refusal(mlp(10, { activation: 'gelu' }))).toMatch(
      /activation must be one of linear, relu/,
    )
    expect(refusal(mlp(10, { dtype: 'int32' }))).toMatch(/dtype must be 'float32'/)
    expect(
      refusal(mlp(10, { kernel_initializer: { class_name: 'Identity', config: { gain: 1 } } })),
    ).toMatch(/initializer 'Identity' is not supported \(one of Zeros, Ones/)
    expect(
      refusal(
        mlp(10, { bias_initializer: { class_name: 'RandomNormal', config: { stddev: 1e30 } } }),
      ),
    ).toMatch(/bias_initializer.config.stddev must be a number from 0 to 1e6/)
  })

  it('refuses a name that TF.js would mishandle or that would make two weights one', () => {
    for (const name of ['constructor', 'a/b', '', ' x', '_lead', 'x'.repeat(101)])
      expect(refusal(mlp(10, { name })), name).toMatch(/name .* must be 1 to 100 letters/)
    const twice = sequential([
      dense('same', 10, { batch_input_shape: [null, 784] }),
      dense('same', 10),
    ])
    expect(refusal(twice)).toMatch(/two layers are named 'same'/)
  })

  it('refuses a model that does not output [batch, classes] or has no input shape', () => {
    const image = sequential([
      {
        class_name: 'Conv2D',
        config: { name: 'conv', filters: 4, kernel_size: 3, batch_input_shape: [null, 28, 28, 1] },
      },
    ])
    expect(refusal(image)).toMatch(
      /output layer 'conv' gives \[batch, 26, 26, 4\].*\[batch, classes\]/,
    )
    expect(refusal(sequential([dense('d', 10)]))).toMatch(
      /'d' \(Dense\) is the first layer: it needs/,
    )
    const wide = sequential([
      {
        class_name: 'Conv2D',
        config: { name: 'conv', filters: 4, kernel_size: 30, batch_input_shape: [null, 28, 28, 1] },
      },
    ])
    expect(refusal(wide)).toMatch(/kernel \(30\) is larger than its input \(28\)/)
  })

  it('holds to the budget it is given, naming the limit', () => {
    const { topology } = written(buildModel({ preset: 'mnist-2nn' }))
    expect(refusal(topology, { maxParameters: 100_000, maxActivations: 1e6 })).toMatch(
      /layer 'fc1' \(Dense\): brings the model to 157,000 parameters; the budget is 100,000/,
    )
    expect(refusal(topology, { maxParameters: 1e6, maxActivations: 1000 })).toMatch(
      /layer 'fc2' \(Dense\): brings the model to 1,184 activations per example .*the budget is 1,000/,
    )
    expect(
      checkTopology(topology, { maxParameters: 199_210, maxActivations: 1194 }).parameters,
    ).toBe(199_210)
  })

  it('refuses what is not a topology at all, with its own error', () => {
    for (const value of [null, 42, 'Sequential', [], {}, { class_name: 'Sequential' }])
      expect(refusal(value)).toBeTruthy()
    expect(refusal({ class_name: 'Dense', config: {} })).toMatch(
      /class_name must be 'Sequential', 'Model' or 'Functional', got 'Dense'/,
    )
  })
})
