import type * as tfl from '@tensorflow/tfjs-layers'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { buildModel, getWeights, type ModelSpec } from './models.ts'
import { toLayersTopology } from './topology.ts'

/**
 * A fresh model for `spec` whose random initialisers all draw from `seed`: the same seed gives
 * the same weights in any process, a different one different weights. Each initialiser gets a
 * seed of its own, derived from the task's and its place in the topology, so two layers of one
 * shape never start equal. An initialiser the topology already seeds keeps its seed.
 */
export function buildSeededModel(spec: ModelSpec, seed: number): tfl.LayersModel {
  const unseeded = buildModel(spec)
  let topology: unknown
  try {
    topology = toLayersTopology(unseeded)
  } finally {
    unseeded.dispose()
  }
  return buildModel({ preset: 'custom', topology: seedInitializers(topology, seed) })
}

/** The initial weights of a task's model: built fresh, read out, the model disposed. */
export function initialWeights(spec: ModelSpec, seed: number): NamedTensor[] {
  const model = buildSeededModel(spec, seed)
  try {
    return getWeights(model)
  } finally {
    model.dispose()
  }
}

/** A copy of a Keras-format topology with every unseeded `*_initializer` seeded from `seed`. */
export function seedInitializers(topology: unknown, seed: number): unknown {
  const walk = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}/${i}`))
    if (typeof node !== 'object' || node === null) return node
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      const here = `${path}/${key}`
      out[key] = key.endsWith('_initializer') ? seeded(value, here) : walk(value, here)
    }
    return out
  }
  const seeded = (initializer: unknown, path: string): unknown => {
    if (typeof initializer !== 'object' || initializer === null) return initializer
    const config = (initializer as { config?: unknown }).config
    // Only initialisers that take a seed say so (`seed: null`); Zeros, Ones, Constant do not.
    if (typeof config !== 'object' || config === null || !('seed' in config)) return initializer
    if (config.seed !== null) return initializer
    return { ...initializer, config: { ...config, seed: mix(seed, path) } }
  }
  return walk(topology, '')
}

/** FNV-1a of the path, folded with the seed: a well-spread 32-bit seed per initialiser. */
function mix(seed: number, path: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < path.length; i++) {
    h ^= path.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}
