// A Keras topology read into one graph (Sequential and Functional alike): known layer classes with
// valid names, each inbound layer found, then put in topological order.
import { MAX_LAYERS, SUPPORTED_LAYERS } from './topology-limits.ts'
import { describe, fail, isObject, onlyKeys, short } from './topology-util.ts'

export interface GraphNode {
  name: string
  className: string
  config: Record<string, unknown>
  inbound: string[]
}

export interface Graph {
  nodes: GraphNode[]
  output: string
}

export function sequentialGraph(config: unknown): Graph {
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

export function functionalGraph(config: unknown): Graph {
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
export function ordered(graph: Graph): GraphNode[] {
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
