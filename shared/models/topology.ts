import { serialization } from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

/**
 * A TF.js Layers model topology as `model.toJSON(null, false)` produces it:
 * `{ class_name, config, keras_version?, backend? }`, snake_case keys (the Keras format).
 */
export type LayersTopology = { class_name: string; config: unknown } & Record<string, unknown>

/** The topology of `model`, for export (`model.json`'s `modelTopology`) or a custom spec. */
export function toLayersTopology(model: tfl.LayersModel): LayersTopology {
  return model.toJSON(null, false) as unknown as LayersTopology
}

/**
 * Builds an (uncompiled) model from a topology, synchronously. Accepts the bare topology or a
 * `model.json`-like object holding it under `modelTopology`. Throws an Error that says what is
 * wrong with the topology.
 *
 * TF.js only offers `tf.models.modelFromJSON`, which is async (it may fetch weights). This does
 * the same two steps without the weights: Keras snake_case to TF.js camelCase, then the
 * registered class's `fromConfig`.
 */
export function modelFromTopology(topology: unknown): tfl.LayersModel {
  const fail = (why: string): never => {
    throw new Error(`invalid custom model topology: ${why}`)
  }
  const top = unwrapTopology(topology)
  if (!top) return fail(`expected an object, got ${describe(topology)}`)
  const className = top['class_name']
  if (typeof className !== 'string') {
    return fail(`'class_name' must be a string naming the model class, got ${describe(className)}`)
  }
  if (!isObject(top['config']) && !Array.isArray(top['config'])) {
    return fail(`'config' of ${className} must be an object, got ${describe(top['config'])}`)
  }
  const registered = serialization.SerializationMap.getMap().classNameMap[className]
  if (!registered) return fail(`unknown class '${className}'`)
  const [cls, fromConfig] = registered
  let built: unknown
  try {
    const config = pythonicToTs(top['config']) as serialization.ConfigDict
    built = fromConfig(cls, config)
  } catch (e) {
    return fail(`${className}: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!(built instanceof tfl.LayersModel)) {
    return fail(`'${className}' is a layer, not a model (Sequential, Model or Functional)`)
  }
  return built
}

/**
 * The topology itself, from a bare topology or a `model.json`-like object holding it under
 * `modelTopology` (and Keras's `model_config`); undefined when it is not an object.
 */
export function unwrapTopology(topology: unknown): Record<string, unknown> | undefined {
  if (!isObject(topology)) return undefined
  let top: Record<string, unknown> = topology
  if (isObject(top['modelTopology'])) top = top['modelTopology']
  if (isObject(top['model_config'])) top = top['model_config']
  return top
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `'${v}'` : typeof v

const toCamelCase = (s: string): string =>
  s.length <= 1 || !s.includes('_')
    ? s
    : s.replace(/[_]+(\w|$)/g, (_, c: string) => c.toUpperCase())

/** Port of tfjs-layers' internal `convertPythonicToTs` (4.22), which is not exported. */
function pythonicToTs(value: unknown, key?: string): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return toCamelCase(value)
  if (typeof value === 'number' || typeof value === 'boolean') return value
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) =>
      // Layer names in inbound_nodes / input_layers / output_layers stay as they are.
      (key === 'inboundNodes' || key === 'outputLayers' || key === 'inputLayers') &&
      i === 0 &&
      typeof item === 'string'
        ? item
        : pythonicToTs(item, key),
    )
  }
  if (typeof value !== 'object') throw new Error(`unexpected ${typeof value} in topology`)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === 'name' && typeof v === 'string') {
      out[k] = v
    } else {
      const tsKey = toCamelCase(k)
      out[tsKey] = pythonicToTs(v, tsKey)
    }
  }
  return out
}
