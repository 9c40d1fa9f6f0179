import type * as tfl from '@tensorflow/tfjs-layers'
import {
  buildSeededModel,
  getWeights,
  modelsBySpec,
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
 * Models the coordinator knows: each spec's layout and topology, and global weights loaded from
 * blobs by hash. It hands out no built model: a model whose weights anyone could set is how one
 * task's trained weights once became another's starting point.
 */
export interface ModelRegistry {
  /**
   * Builds and checks a task's model, initialised afresh from `seed` (or from the custom
   * model's own initial weights); stores those weights; returns their hash.
   */
  create(
    input: ModelSpecInput,
    seed: number,
  ): Promise<{ spec: ModelSpecInput; hash: string; info: ModelInfo }>
  info(spec: ModelSpec): ModelInfo
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
  // Built once per spec for its shapes and topology only: its weights are never read or set.
  const layout = modelsBySpec()
  const recentWeights = new Map<string, NamedTensor[]>()

  const registry: ModelRegistry = {
    async create(input, seed) {
      // Initial weights go to the blob store, not into the stored spec.
      const spec: ModelSpecInput =
        input.preset === 'custom'
          ? { preset: 'custom', topology: input.topology }
          : { preset: input.preset }
      let fresh: tfl.LayersModel
      try {
        fresh = buildSeededModel(spec, seed)
      } catch (error) {
        throw new ModelError(
          input.preset === 'custom' ? 'model.topology' : 'model.preset',
          (error as Error).message,
        )
      }
      let weights: NamedTensor[]
      try {
        if (input.preset === 'custom' && input.initialWeights !== undefined) {
          try {
            const bytes = Uint8Array.from(atob(input.initialWeights), (c) => c.charCodeAt(0))
            // Set into this task's own fresh model: checks every name and shape.
            setWeights(fresh, decodeContainer(bytes).tensors)
          } catch (error) {
            throw new ModelError('model.initialWeights', (error as Error).message)
          }
        }
        weights = getWeights(fresh)
      } finally {
        fresh.dispose()
      }
      return { spec, hash: await registry.store(weights), info: registry.info(spec) }
    },
    info(spec) {
      const built = layout(spec)
      const parameters = built.countParams()
      return { spec, weightSpec: weightSpec(built), parameters, payloadBytes: parameters * 4 }
    },
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
    topology: (spec) => toLayersTopology(layout(spec)),
  }

  function remember(hash: string, tensors: NamedTensor[]) {
    recentWeights.set(hash, tensors)
    // A few global models at a time is plenty: each task needs only its current one.
    while (recentWeights.size > 16) recentWeights.delete(recentWeights.keys().next().value!)
  }
  return registry
}
