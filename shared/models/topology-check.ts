import { unwrapTopology } from './topology.ts'

/**
 * What a custom model may cost. Parameters bound the model's bytes (4 per parameter, on the wire
 * and in every device's memory); activations bound what one example's forward pass holds (every
 * layer's output, the input included), which a device multiplies by its batch size.
 */
export interface ModelBudget {
  maxParameters: number
  maxActivations: number
}

/** A model a phone can hold and train: 10 M parameters (40 MB), 1 M values per example. */
export const DEFAULT_MODEL_BUDGET: Readonly<ModelBudget> = {
  maxParameters: 10_000_000,
  maxActivations: 1_000_000,
}

/**
 * The layer classes Pollen accepts: TF.js registers them, and their forward and backward passes
 * run on every backend Pollen trains on (WASM has no kernel for the gradients of Embedding,
 * DepthwiseConv2D or SeparableConv2D, so those are left out).
 */
export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'Activation',
  'BatchNormalization',
  'Add',
  'Concatenate',
] as const

export const SUPPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softmax',
  'softplus',
  'softsign',
  'swish',
] as const

/**
 * Initialisers, by the class name TF.js writes. Orthogonal is not among them: TF.js builds it by a
 * QR decomposition that blocks for seconds on a kernel of a few hundred columns, and in Pollen's
 * TF.js build it then fails (it calls a chained op Pollen does not register).
 */
export const SUPPORTED_INITIALIZERS = [
  'Zeros',
  'Ones',
  'Constant',
  'RandomUniform',
  'RandomNormal',
  'TruncatedNormal',
  'VarianceScaling',
  'GlorotUniform',
  'GlorotNormal',
  'HeUniform',
  'HeNormal',
  'LeCunUniform',
  'LeCunNormal',
] as const

/** Layers in one topology: far more than any phone model needs, and a bound on the check's work. */
export const MAX_LAYERS = 1_000

/** What the check learnt, without building anything. Shapes leave out the batch dimension. */
export interface TopologySummary {
  parameters: number
  activations: number
  inputShape: number[]
  outputShape: number[]
  layers: number
}

/** A topology refused by the check; the message names the layer and says what was wrong. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError'
}

/**
 * Checks a Keras-format topology (Sequential, or Model/Functional as TF.js writes it) before
 * anything is built: known layers with known options only, a graph without cycles whose every
 * inbound layer exists, one input and one `[batch, classes]` output, shapes propagated layer by
 * layer, and the parameters and activations within `budget`. Throws a TopologyError, and nothing
 * else, for whatever it refuses; its work is linear in the topology's size.
 */
export function checkTopology(
  topology: unknown,
  budget: ModelBudget = DEFAULT_MODEL_BUDGET,
): TopologySummary {
  const top = unwrapTopology(topology)
  if (!top) fail(`expected an object with 'class_name' and 'config', got ${describe(topology)}`)
  const className = top['class_name']
  const graph =
    className === 'Sequential'
      ? sequentialGraph(top['config'])
      : className === 'Model' || className === 'Functional'
        ? functionalGraph(top['config'])
        : fail(
            `the model's class_name must be 'Sequential', 'Model' or 'Functional', got ${describe(className)}`,
          )
  return propagate(graph, budget)
}

// ---- the graph -------------------------------------------------------------------------------

interface GraphNode {
  name: string
  className: string
  config: Record<string, unknown>
  inbound: string[]
}

interface Graph {
  nodes: GraphNode[]
  output: string
}

function sequentialGraph(config: unknown): Graph {
  let layers: unknown
  if (Array.isArray(config)) layers = config
  else if (isObject(config)) {
    onlyKeys(config, ['name', 'layers'], 'the Sequential config')
    modelName(config['name'])
    layers = config['layers']
  } else fail(`the Sequential config must be an object with 'layers', got ${describe(config)}`)
  if (!Array.isArray(layers) || layers.length === 0)
    fail(`the Sequential config's 'layers' must be a non-empty array, got ${describe(layers)}`)
  if (layers.length > MAX_LAYERS) fail(`${layers.length} layers; at most ${MAX_LAYERS}`)
  const nodes: GraphNode[] = []
  layers.forEach((entry, i) => {
    if (!isObject(entry)) fail(`layer ${i} must be an object, got ${describe(entry)}`)
    onlyKeys(entry, ['class_name', 'config'], `layer ${i}`)
    const { className, config, name } = layerEntry(entry, i)
    const previous = nodes.at(-1)
    if (!previous) {
      if (className !== 'InputLayer') {
        // TF.js puts an input layer named `<first>_input` in front of the first layer.
        nodes.push({
          name: `${name}_input`,
          className: 'InputLayer',
          config: firstLayerInput(name, className, config),
          inbound: [],
        })
      }
    } else if (className === 'InputLayer') {
      fail(`layer '${name}' (InputLayer) must be the first layer of a Sequential model`)
    }
    const before = nodes.at(-1)
    nodes.push({ name, className, config, inbound: before ? [before.name] : [] })
  })
  return { nodes, output: nodes.at(-1)!.name }
}

/** The first layer of a Sequential model carries the input's shape; it becomes an InputLayer. */
function firstLayerInput(
  name: string,
  className: string,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const batchShape = config['batch_input_shape']
  const shape = config['input_shape']
  if (batchShape === undefined && shape === undefined)
    fail(
      `layer '${name}' (${className}) is the first layer: it needs 'batch_input_shape' (or 'input_shape')`,
    )
  if (batchShape !== undefined && shape !== undefined)
    fail(`layer '${name}' (${className}): give 'batch_input_shape' or 'input_shape', not both`)
  delete config['batch_input_shape']
  delete config['input_shape']
  const input: Record<string, unknown> = {
    name: `${name}_input`,
    batch_input_shape:
      batchShape ?? (Array.isArray(shape) ? [null, ...(shape as unknown[])] : shape),
  }
  if ('dtype' in config) input['dtype'] = config['dtype']
  return input
}

function functionalGraph(config: unknown): Graph {
  if (!isObject(config))
    fail(`the model config must be an object with 'layers', got ${describe(config)}`)
  onlyKeys(config, ['name', 'layers', 'input_layers', 'output_layers'], 'the model config')
  modelName(config['name'])
  const layers = config['layers']
  if (!Array.isArray(layers) || layers.length === 0)
    fail(`the model config's 'layers' must be a non-empty array, got ${describe(layers)}`)
  if (layers.length > MAX_LAYERS) fail(`${layers.length} layers; at most ${MAX_LAYERS}`)
  const nodes = layers.map((entry: unknown, i): GraphNode => {
    if (!isObject(entry)) fail(`layer ${i} must be an object, got ${describe(entry)}`)
    onlyKeys(entry, ['name', 'class_name', 'config', 'inbound_nodes'], `layer ${i}`)
    const { className, config: layerConfig, name } = layerEntry(entry, i)
    if (entry['name'] !== name)
      fail(`layer ${i}: 'name' (${describe(entry['name'])}) must equal its config's ('${name}')`)
    return { name, className, config: layerConfig, inbound: inboundOf(entry, name, className) }
  })
  const input = endpoint(config['input_layers'], 'input_layers')
  const output = endpoint(config['output_layers'], 'output_layers')
  const byName = new Map(nodes.map((n) => [n.name, n]))
  for (const [what, name] of [
    ['input_layers', input],
    ['output_layers', output],
  ] as const)
    if (!byName.has(name)) fail(`${what} names '${name}', which is not a layer of the model`)
  if (byName.get(input)!.className !== 'InputLayer')
    fail(`input_layers must name an InputLayer; '${input}' is a ${byName.get(input)!.className}`)
  for (const node of nodes) {
    if (node.className === 'InputLayer' && node.name !== input)
      fail(
        `layer '${node.name}' (InputLayer) is not the model's input ('${input}'); one input only`,
      )
  }
  return { nodes, output }
}

/** `inbound_nodes` as TF.js writes it: `[[[name, 0, 0, {}], ...]]`, one call per layer. */
function inboundOf(entry: Record<string, unknown>, name: string, className: string): string[] {
  const at = `layer '${name}' (${className})`
  const nodes = entry['inbound_nodes']
  if (!Array.isArray(nodes)) fail(`${at}: 'inbound_nodes' must be an array, got ${describe(nodes)}`)
  if (className === 'InputLayer') {
    if (nodes.length !== 0) fail(`${at}: an InputLayer has no inbound nodes`)
    return []
  }
  if (nodes.length !== 1)
    fail(
      `${at} is called ${nodes.length} times; each layer must be called exactly once (shared layers are not supported)`,
    )
  const call: unknown = nodes[0]
  if (!Array.isArray(call) || call.length === 0)
    fail(`${at}: its inbound node must be a non-empty array of [layer, 0, 0, {}]`)
  if (call.length > MAX_LAYERS) fail(`${at}: ${call.length} inputs; at most ${MAX_LAYERS}`)
  return call.map((input: unknown) => {
    if (
      !Array.isArray(input) ||
      (input.length !== 3 && input.length !== 4) ||
      typeof input[0] !== 'string' ||
      input[1] !== 0 ||
      input[2] !== 0 ||
      (input.length === 4 &&
        input[3] !== null &&
        !(isObject(input[3]) && Object.keys(input[3]).length === 0))
    )
      fail(`${at}: each input must be [layer name, 0, 0, {}], got ${short(input)}`)
    return input[0]
  })
}

function endpoint(value: unknown, key: string): string {
  if (
    !Array.isArray(value) ||
    value.length !== 1 ||
    !Array.isArray(value[0]) ||
    value[0].length !== 3 ||
    typeof value[0][0] !== 'string' ||
    value[0][1] !== 0 ||
    value[0][2] !== 0
  )
    fail(`'${key}' must be [[layer name, 0, 0]] (one ${key.slice(0, -7)}), got ${short(value)}`)
  return value[0][0]
}

function layerEntry(
  entry: Record<string, unknown>,
  i: number,
): { className: string; config: Record<string, unknown>; name: string } {
  const className = entry['class_name']
  if (typeof className !== 'string')
    fail(`layer ${i}: 'class_name' must be a string, got ${describe(className)}`)
  const config = entry['config']
  if (!isObject(config)) fail(`layer ${i} (${className}): 'config' must be an object`)
  const name = config['name']
  if (typeof name !== 'string')
    fail(`layer ${i} (${className}): config.name must be a string naming the layer`)
  if (!LAYER_NAME.test(name) || name in Object.prototype)
    fail(
      `layer ${i} (${className}): name ${describe(name)} must be 1 to 100 letters, digits, '_', '-' or '.', starting with a letter or digit`,
    )
  if (!(SUPPORTED_LAYERS as readonly string[]).includes(className))
    fail(
      `layer '${name}': class '${className}' is not supported (one of ${SUPPORTED_LAYERS.join(', ')})`,
    )
  // A copy: the check takes keys off as it reads them.
  return { className, config: { ...config }, name }
}

/** Weight names are `<layer>/<weight>`: a '/' in a layer name could make two weights one. */
const LAYER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/

function modelName(name: unknown): void {
  if (name !== undefined && name !== null && (typeof name !== 'string' || !LAYER_NAME.test(name)))
    fail(
      `the model's name must be 1 to 100 letters, digits, '_', '-' or '.', got ${describe(name)}`,
    )
}

/** Topological order (Kahn), refusing unknown inputs, duplicate names, cycles and dead ends. */
function ordered(graph: Graph): GraphNode[] {
  const byName = new Map<string, GraphNode>()
  for (const node of graph.nodes) {
    if (byName.has(node.name)) fail(`two layers are named '${node.name}'; names must be unique`)
    byName.set(node.name, node)
  }
  const waiting = new Map<string, number>()
  const consumers = new Map<string, GraphNode[]>()
  for (const node of graph.nodes) {
    for (const from of node.inbound) {
      if (!byName.has(from))
        fail(
          `layer '${node.name}' (${node.className}) takes input from '${from}', which is not a layer`,
        )
      const list = consumers.get(from)
      if (list) list.push(node)
      else consumers.set(from, [node])
    }
    waiting.set(node.name, node.inbound.length)
  }
  const order = graph.nodes.filter((n) => n.inbound.length === 0)
  for (let i = 0; i < order.length; i++) {
    for (const next of consumers.get(order[i]!.name) ?? []) {
      const left = waiting.get(next.name)! - 1
      waiting.set(next.name, left)
      if (left === 0) order.push(next)
    }
  }
  if (order.length < graph.nodes.length) {
    const stuck = graph.nodes.filter((n) => waiting.get(n.name)! > 0).map((n) => `'${n.name}'`)
    fail(
      `the layers ${stuck.slice(0, 5).join(', ')}${stuck.length > 5 ? ', …' : ''} form a cycle (or take input from one); a model's graph must be acyclic`,
    )
  }
  // Every layer must lead to the output: TF.js would build a dead branch's weights and drop them.
  const live = new Set<string>([graph.output])
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!
    if (live.has(node.name)) for (const from of node.inbound) live.add(from)
  }
  for (const node of order)
    if (!live.has(node.name))
      fail(`layer '${node.name}' (${node.className}) does not lead to the output '${graph.output}'`)
  return order
}

// ---- shapes, parameters and activations --------------------------------------------------------

type Shape = number[]

interface LayerResult {
  output: Shape
  parameters: number
}

function propagate(graph: Graph, budget: ModelBudget): TopologySummary {
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

/** A layer's config, read key by key; `done()` refuses whatever key no rule read. */
class Options {
  private readonly config: Record<string, unknown>
  private readonly at: string

  constructor(node: GraphNode) {
    this.config = node.config
    this.at = `layer '${node.name}' (${node.className})`
    this.take('name')
    this.bool('trainable', true)
    this.optional('dtype', (v) => v === 'float32', "'float32' (Pollen trains float32 weights)")
  }

  fail(why: string): never {
    return fail(`${this.at}: ${why}`)
  }

  done(): void {
    const left = Object.keys(this.config)
    if (left.length > 0)
      this.fail(
        `unknown option${left.length > 1 ? 's' : ''} ${left
          .slice(0, 5)
          .map((k) => `'${k}'`)
          .join(', ')}${left.length > 5 ? ', …' : ''}`,
      )
  }

  private take(key: string): unknown {
    const value = this.config[key]
    delete this.config[key]
    return value
  }

  required(key: string): unknown {
    const value = this.take(key)
    if (value === undefined || value === null) this.fail(`'${key}' is required`)
    return value
  }

  /** An optional key: absent or null, or a value `ok` accepts. */
  optional(key: string, ok: (v: unknown) => boolean, expected: string): unknown {
    const value = this.take(key)
    if (value === undefined || value === null) return undefined
    if (!ok(value)) this.fail(`${key} must be ${expected}, got ${short(value)}`)
    return value
  }

  /** Keys Pollen does not train with: regularisers, constraints, a noise shape. */
  none(...keys: string[]): void {
    for (const key of keys) {
      const value = this.take(key)
      if (value !== undefined && value !== null)
        this.fail(`${key} must be null (Pollen supports none), got ${short(value)}`)
    }
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.optional(key, (v) => typeof v === 'boolean', 'true or false')
    return value === undefined ? fallback : (value as boolean)
  }

  int(key: string, min: number): number {
    const value = this.required(key)
    if (!isDim(value) || value < min)
      this.fail(`${key} must be an integer of at least ${min}, got ${short(value)}`)
    return value
  }

  /** `[a, b]` or one integer for both, as Keras writes kernel sizes, strides and pool sizes. */
  pair(key: string, fallback?: number, fallback2 = fallback): [number, number] {
    const value = this.take(key)
    if ((value === undefined || value === null) && fallback !== undefined)
      return [fallback, fallback2!]
    const pair = isDim(value) ? [value, value] : value
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((d) => isDim(d) && d >= 1))
      this.fail(`${key} must be a positive integer or two, got ${short(value)}`)
    if (key === 'dilation_rate' && (pair[0] !== 1 || pair[1] !== 1))
      this.fail(`dilation_rate must be 1 (Pollen's kernels do not dilate), got ${short(value)}`)
    return [pair[0] as number, pair[1] as number]
  }

  padding(): 'valid' | 'same' {
    const value = this.optional(
      'padding',
      (v) => v === 'valid' || v === 'same',
      "'valid' or 'same'",
    )
    return (value as 'valid' | 'same' | undefined) ?? 'valid'
  }

  channelsLast(): void {
    this.optional(
      'data_format',
      (v) => v === 'channels_last',
      "'channels_last' (Pollen's images are height × width × channels)",
    )
  }

  activation(): string | undefined {
    return this.optional(
      'activation',
      (v) => (SUPPORTED_ACTIVATIONS as readonly unknown[]).includes(v),
      `one of ${SUPPORTED_ACTIVATIONS.join(', ')}`,
    ) as string | undefined
  }

  seed(key = 'seed'): void {
    this.optional(key, (v) => isInt(v) && v >= 0 && v <= 0xffffffff, 'null or an integer seed')
  }

  batchShape(key: string): Shape {
    const value = this.required(key)
    if (
      !Array.isArray(value) ||
      value.length < 2 ||
      value.length > 4 ||
      value[0] !== null ||
      !value.slice(1).every((d) => isDim(d) && d >= 1)
    )
      this.fail(
        `${key} must be [null, ...1 to 3 positive integers] (the batch dimension left open), got ${short(value)}`,
      )
    return value.slice(1) as number[]
  }

  /** An initialiser as Keras writes it: `{ class_name, config }`, of a supported class. */
  initializer(key: string): void {
    const value = this.take(key)
    if (value === undefined || value === null) return
    const where = `${key}`
    if (!isObject(value) || typeof value['class_name'] !== 'string')
      this.fail(`${where} must be { class_name, config }, got ${short(value)}`)
    const className = value['class_name']
    if (className === 'Orthogonal')
      this.fail(
        `${where}: the Orthogonal initializer is not supported: TF.js computes it by a QR decomposition that blocks for seconds on kernels of a few hundred columns, then fails in Pollen's TF.js build; use GlorotUniform, HeNormal or another of ${SUPPORTED_INITIALIZERS.join(', ')}`,
      )
    if (!(SUPPORTED_INITIALIZERS as readonly string[]).includes(className))
      this.fail(
        `${where}: initializer '${className}' is not supported (one of ${SUPPORTED_INITIALIZERS.join(', ')})`,
      )
    for (const k of Object.keys(value))
      if (k !== 'class_name' && k !== 'config') this.fail(`${where}: unknown key '${k}'`)
    const config = value['config']
    if (!isObject(config)) this.fail(`${where}.config must be an object, got ${short(config)}`)
    const seen = new Set(Object.keys(config))
    const read = (k: string, ok: (v: unknown) => boolean, expected: string) => {
      seen.delete(k)
      const v = config[k]
      if (v !== undefined && v !== null && !ok(v))
        this.fail(`${where}.config.${k} must be ${expected}, got ${short(v)}`)
    }
    const moderate = (v: unknown) => typeof v === 'number' && Math.abs(v) <= 1e6
    const seed = (v: unknown) => isInt(v) && v >= 0 && v <= 0xffffffff
    switch (className) {
      case 'Zeros':
      case 'Ones':
        break
      case 'Constant':
        read('value', moderate, 'a number within ±1e6')
        if (typeof config['value'] !== 'number') this.fail(`${where}.config.value is required`)
        break
      case 'RandomUniform':
        read('minval', moderate, 'a number within ±1e6')
        read('maxval', moderate, 'a number within ±1e6')
        read('seed', seed, 'null or an integer seed')
        break
      case 'RandomNormal':
      case 'TruncatedNormal':
        read('mean', moderate, 'a number within ±1e6')
        read('stddev', (v) => moderate(v) && (v as number) >= 0, 'a number from 0 to 1e6')
        read('seed', seed, 'null or an integer seed')
        break
      case 'VarianceScaling':
        read('scale', (v) => moderate(v) && (v as number) >= 0, 'a number from 0 to 1e6')
        read(
          'mode',
          (v) => ['fan_in', 'fan_out', 'fan_avg'].includes(v as string),
          "'fan_in', 'fan_out' or 'fan_avg'",
        )
        read('distribution', (v) => v === 'normal' || v === 'uniform', "'normal' or 'uniform'")
        read('seed', seed, 'null or an integer seed')
        break
      default: // Glorot, He and LeCun: a seed only
        read('seed', seed, 'null or an integer seed')
    }
    if (seen.size > 0) this.fail(`${where}.config: unknown key '${[...seen][0]!}'`)
  }

  one(inputs: Shape[], { minRank }: { minRank: number }): Shape {
    if (inputs.length !== 1) this.fail(`takes one input, got ${inputs.length}`)
    const input = inputs[0]!
    if (input.length < minRank)
      this.fail(
        `needs an input of at least ${minRank + 1} dimensions (batch included), got [batch, ${input.join(', ')}]`,
      )
    return input
  }

  image(inputs: Shape[]): [number, number, number] {
    const input = this.one(inputs, { minRank: 3 })
    if (input.length !== 3)
      this.fail(`needs a [batch, height, width, channels] input, got [batch, ${input.join(', ')}]`)
    return input as [number, number, number]
  }

  merged(inputs: Shape[]): [Shape, ...Shape[]] {
    if (inputs.length < 2) this.fail(`merges at least 2 inputs, got ${inputs.length}`)
    return inputs as [Shape, ...Shape[]]
  }

  /** An output length along one spatial axis (TF.js's convOutputLength, without dilation). */
  slide(length: number, window: number, stride: number, padding: 'valid' | 'same', what: string) {
    if (padding === 'same') return Math.ceil(length / stride)
    if (window > length)
      this.fail(`its ${what} (${window}) is larger than its input (${length}) with 'valid' padding`)
    return Math.floor((length - window) / stride) + 1
  }
}

// ---- helpers -------------------------------------------------------------------------------

function fail(why: string): never {
  throw new TopologyError(why)
}

function onlyKeys(object: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const key of Object.keys(object))
    if (!keys.includes(key))
      fail(`${what}: unknown key '${key.slice(0, 40)}' (expected ${keys.join(', ')})`)
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const isInt = (v: unknown): v is number => Number.isSafeInteger(v)

/** A dimension: a safe integer (a budget bounds it further). */
const isDim = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

const fmt = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US') : String(n))

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? `'${v.slice(0, 40)}'`
        : typeof v

/** A value in a message, cut short: the topology is the admin's, but it may be huge. */
function short(v: unknown): string {
  let text: string
  try {
    text = JSON.stringify(v) ?? String(v)
  } catch {
    text = String(v)
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
