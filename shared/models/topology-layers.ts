// Each supported layer's rule (its options, output shape and parameters), and the walk that runs
// them in graph order, summing parameters and activations against the budget.
import { type Graph, ordered } from './topology-graph.ts'
import type { ModelBudget, SUPPORTED_LAYERS, TopologySummary } from './topology-limits.ts'
import { Options, type Shape } from './topology-options.ts'
import { fail, fmt, isDim, isInt, short, size } from './topology-util.ts'

interface LayerResult {
  output: Shape
  parameters: number
}

export function propagate(graph: Graph, budget: ModelBudget): TopologySummary {
  const order = ordered(graph)
  const shapes = new Map<string, Shape>()
  let parameters = 0
  let activations = 0
  for (const node of order) {
    const options = new Options(node)
    const inputs = node.inbound.map((from) => shapes.get(from)!)
    const { output, parameters: own } = LAYERS[node.className as SupportedLayer](options, inputs)
    options.done()
    for (const d of output)
      if (!Number.isSafeInteger(d) || d < 1)
        options.fail(`its output would be [${output.join(', ')}]`)
    shapes.set(node.name, output)
    parameters += own
    activations += size(output)
    if (parameters > budget.maxParameters)
      options.fail(
        `brings the model to ${fmt(parameters)} parameters; the budget is ${fmt(budget.maxParameters)}`,
      )
    if (activations > budget.maxActivations)
      options.fail(
        `brings the model to ${fmt(activations)} activations per example (output [${output.join(', ')}]); the budget is ${fmt(budget.maxActivations)}`,
      )
  }
  const input = order[0]!
  const output = shapes.get(graph.output)!
  if (output.length !== 1)
    fail(
      `the output layer '${graph.output}' gives [batch, ${output.join(', ')}]; a model must output [batch, classes]`,
    )
  return {
    parameters,
    activations,
    inputShape: shapes.get(input.name)!,
    outputShape: output,
    layers: order.length,
  }
}

type SupportedLayer = (typeof SUPPORTED_LAYERS)[number]
type LayerRule = (o: Options, inputs: Shape[]) => LayerResult

const LAYERS: Record<SupportedLayer, LayerRule> = {
  InputLayer(o) {
    const shape = o.batchShape('batch_input_shape')
    o.optional('sparse', (v) => v === false, 'false')
    return { output: shape, parameters: 0 }
  },
  Dense(o, inputs) {
    const input = o.one(inputs, { minRank: 1 })
    const units = o.int('units', 1)
    o.activation()
    const bias = o.bool('use_bias', true)
    o.initializer('kernel_initializer')
    o.initializer('bias_initializer')
    o.none('kernel_regularizer', 'bias_regularizer', 'activity_regularizer')
    o.none('kernel_constraint', 'bias_constraint')
    const last = input.at(-1)!
    return { output: [...input.slice(0, -1), units], parameters: last * units + (bias ? units : 0) }
  },
  Conv2D(o, inputs) {
    const [h, w, c] = o.image(inputs)
    const filters = o.int('filters', 1)
    const [kh, kw] = o.pair('kernel_size')
    const [sh, sw] = o.pair('strides', 1)
    o.pair('dilation_rate', 1, 1)
    o.optional('groups', (v) => v === 1, '1')
    const padding = o.padding()
    o.channelsLast()
    o.activation()
    const bias = o.bool('use_bias', true)
    o.initializer('kernel_initializer')
    o.initializer('bias_initializer')
    o.none('kernel_regularizer', 'bias_regularizer', 'activity_regularizer')
    o.none('kernel_constraint', 'bias_constraint')
    const out = [o.slide(h, kh, sh, padding, 'kernel'), o.slide(w, kw, sw, padding, 'kernel')]
    return { output: [...out, filters], parameters: kh * kw * c * filters + (bias ? filters : 0) }
  },
  MaxPooling2D: pooling,
  AveragePooling2D: pooling,
  GlobalAveragePooling2D: globalPooling,
  GlobalMaxPooling2D: globalPooling,
  Flatten(o, inputs) {
    const input = o.one(inputs, { minRank: 2 })
    o.optional('data_format', (v) => v === 'channels_last', "'channels_last'")
    return { output: [size(input)], parameters: 0 }
  },
  Reshape(o: Options, inputs: Shape[]) {
    const input = o.one(inputs, { minRank: 1 })
    const target = o.required('target_shape')
    // No -1: TF.js 4.22 leaves that dimension unknown, and the next layer then fails to build.
    if (
      !Array.isArray(target) ||
      target.length < 1 ||
      target.length > 3 ||
      !target.every((d) => isDim(d) && d >= 1)
    )
      o.fail(`target_shape must be 1 to 3 positive integers (no -1), got ${short(target)}`)
    if (size(target) !== size(input))
      o.fail(
        `cannot reshape [${input.join(', ')}] (${fmt(size(input))} values) into ${short(target)}`,
      )
    return { output: target as number[], parameters: 0 }
  },
  Dropout(o, inputs) {
    const input = o.one(inputs, { minRank: 1 })
    const rate = o.required('rate')
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1))
      o.fail(`rate must be a number from 0 to below 1, got ${short(rate)}`)
    o.none('noise_shape')
    o.seed()
    return { output: input, parameters: 0 }
  },
  Activation(o, inputs) {
    const input = o.one(inputs, { minRank: 1 })
    if (o.activation() === undefined) o.fail(`an Activation layer needs 'activation'`)
    return { output: input, parameters: 0 }
  },
  BatchNormalization(o, inputs) {
    const input = o.one(inputs, { minRank: 1 })
    o.optional('axis', (v) => v === -1 || v === input.length, `-1 (the last axis)`)
    o.optional('momentum', (v) => typeof v === 'number' && v >= 0 && v <= 1, 'from 0 to 1')
    o.optional('epsilon', (v) => typeof v === 'number' && v > 0 && v <= 1, 'above 0, at most 1')
    const center = o.bool('center', true)
    const scale = o.bool('scale', true)
    for (const key of [
      'beta_initializer',
      'gamma_initializer',
      'moving_mean_initializer',
      'moving_variance_initializer',
    ])
      o.initializer(key)
    o.none('beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint')
    const channels = input.at(-1)!
    return { output: input, parameters: channels * (2 + (center ? 1 : 0) + (scale ? 1 : 0)) }
  },
  Add(o, inputs) {
    const [first] = o.merged(inputs)
    for (const shape of inputs)
      if (shape.join() !== first.join())
        o.fail(
          `adds inputs of different shapes (${inputs.map((s) => `[${s.join(', ')}]`).join(', ')})`,
        )
    return { output: first, parameters: 0 }
  },
  Concatenate(o, inputs) {
    const [first] = o.merged(inputs)
    const rank = first.length
    const given = (o.optional('axis', (v) => isInt(v), 'an integer') ?? -1) as number
    // Axes count the batch dimension (0), which cannot be concatenated.
    const axis = given < 0 ? given + rank + 1 : given
    if (axis < 1 || axis > rank)
      o.fail(`axis ${given} is not an axis of its [batch, ${first.join(', ')}] inputs`)
    for (const shape of inputs)
      if (shape.length !== rank || shape.some((d, i) => i !== axis - 1 && d !== first[i]))
        o.fail(
          `concatenates inputs that differ off axis ${given} (${inputs.map((s) => `[${s.join(', ')}]`).join(', ')})`,
        )
    const output = [...first]
    output[axis - 1] = inputs.reduce((sum, s) => sum + s[axis - 1]!, 0)
    return { output, parameters: 0 }
  },
}

function pooling(o: Options, inputs: Shape[]): LayerResult {
  const [h, w, c] = o.image(inputs)
  const [ph, pw] = o.pair('pool_size', 2)
  const [sh, sw] = o.pair('strides', ph, pw)
  const padding = o.padding()
  o.channelsLast()
  return {
    output: [o.slide(h, ph, sh, padding, 'pool'), o.slide(w, pw, sw, padding, 'pool'), c],
    parameters: 0,
  }
}

function globalPooling(o: Options, inputs: Shape[]): LayerResult {
  const [, , c] = o.image(inputs)
  o.channelsLast()
  o.optional('keepdims', (v) => v === false, 'false')
  return { output: [c], parameters: 0 }
}
