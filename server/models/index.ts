import type * as tfl from '@tensorflow/tfjs-layers'
import {
  buildModel,
  getWeights,
  parameterCount,
  setWeights,
  toLayersTopology,
  weightSpec,
  type ModelSpec,
  type WeightSpec,
} from '../../shared/models/index.ts'
import type { ModelSpecInput } from '../../shared/protocol/index.ts'
import { decodeContainer, encodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import type { BlobStore } from '../blobs/index.ts'

export interface ModelInfo {
  spec: ModelSpec
  weightSpec: WeightSpec[]
  parameters: number
  /** Bytes of a float32 container's payload for this model. */
  payloadBytes: number
}

/**
 * Models the coordinator knows: one built TF.js model per spec (for the weight layout,
 * evaluation and export), and global weights loaded from blobs by hash.
 */
export interface ModelRegistry {
  /** Builds and checks a task's model; stores its initial weights; returns their hash. */
  create(input: ModelSpecInput): Promise<{ spec: ModelSpecInput; hash: string; info: ModelInfo }>
  info(spec: ModelSpec): ModelInfo
  /** The built model for a spec, shared: callers set weights before use and never dispose it. */
  model(spec: ModelSpec): tfl.LayersModel
  weights(hash: string): Promise<NamedTensor[]>
  store(weights: readonly NamedTensor[]): Promise<string>
  topology(spec: ModelSpec): object
}

export class ModelError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

export function createModelRegistry({ blobs }: { blobs: BlobStore }): ModelRegistry {
  const models = new Map<string, tfl.LayersModel>()
  const recentWeights = new Map<string, NamedTensor[]>()
  const keyOf = (spec: ModelSpec) => JSON.stringify(spec)

  const model = (spec: ModelSpec) => {
    const key = keyOf(spec)
    let built = models.get(key)
    if (!built) {
      built = buildModel(spec)
      models.set(key, built)
    }
    return built
  }

  const registry: ModelRegistry = {
    async create(input) {
      // Initial weights go to the blob store, not into the stored spec.
      const spec: ModelSpecInput =
        input.preset === 'custom'
          ? { preset: 'custom', topology: input.topology }
          : { preset: input.preset }
      let built: tfl.LayersModel
      try {
        built = model(spec)
      } catch (error) {
        throw new ModelError(
          input.preset === 'custom' ? 'model.topology' : 'model.preset',
          (error as Error).message,
        )
      }
      let weights = getWeights(built)
      if (input.preset === 'custom' && input.initialWeights !== undefined) {
        try {
          const bytes = Uint8Array.from(atob(input.initialWeights), (c) => c.charCodeAt(0))
          weights = decodeContainer(bytes).tensors
          setWeights(built, weights)
          weights = getWeights(built)
        } catch (error) {
          throw new ModelError('model.initialWeights', (error as Error).message)
        }
      }
      return { spec, hash: await registry.store(weights), info: registry.info(spec) }
    },
    info(spec) {
      const built = model(spec)
      const layout = weightSpec(built)
      const parameters = spec.preset === 'custom' ? built.countParams() : parameterCount(spec)
      return { spec, weightSpec: layout, parameters, payloadBytes: parameters * 4 }
    },
    model,
    async weights(hash) {
      const cached = recentWeights.get(hash)
      if (cached) return cached
      const bytes = await blobs.get(hash)
      if (!bytes) throw new Error(`model blob ${hash} is missing`)
      const tensors = decodeContainer(bytes).tensors
      remember(hash, tensors)
      return tensors
    },
    async store(weights) {
      const hash = await blobs.put(encodeContainer({ tensors: weights }))
      remember(hash, [...weights])
      return hash
    },
    topology: (spec) => toLayersTopology(model(spec)),
  }

  function remember(hash: string, tensors: NamedTensor[]) {
    recentWeights.set(hash, tensors)
    // A few global models at a time is plenty: each task needs only its current one.
    while (recentWeights.size > 16) recentWeights.delete(recentWeights.keys().next().value!)
  }
  return registry
}
