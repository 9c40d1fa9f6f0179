import {
  buildModel,
  buildSeededModel,
  checkTopology,
  DEFAULT_MODEL_BUDGET,
  getWeights,
  toLayersTopology,
  TopologyError,
  updateSpec,
  weightSpec,
  type ModelBudget,
  type ModelSpec,
  type WeightSpec,
} from '../../shared/models/index.ts'
import type { ModelSpecInput } from '../../shared/protocol/index.ts'
import {
  decodeContainer,
  encodeContainer,
  type NamedTensor,
  tensorSize,
} from '../../shared/tensors/index.ts'
import type { BlobStore } from '../blobs/index.ts'
import { BuildError, workerBuilder, type ModelBuilder } from './builder.ts'

export { workerBuilder, type ModelBuilder } from './builder.ts'

export interface ModelInfo {
  spec: ModelSpec
  /** Every weight of the model, in its order: what a committed model holds. */
  weightSpec: WeightSpec[]
  parameters: number
  /**
   * The weights an update carries, trained and averaged: all but a frozen layer's
   * (`trainable: false`), which every committed model keeps as the task's first model had them.
   */
  updateSpec: WeightSpec[]
  /** Values in `updateSpec`: what a device uploads, and the length of a secure sum's vector. */
  trainableParameters: number
  /** Bytes of an update's float32 payload (trainableParameters × 4). */
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
  /** Stops the builder's worker. */
  close(): Promise<void>
}

export class ModelError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

export interface ModelRegistryOptions {
  blobs: BlobStore
  /** What a custom model may cost, checked before anything is built. */
  budget?: ModelBudget
  /** Where custom models are built: by default a worker thread with a 20 s bound. */
  builder?: ModelBuilder
}

interface Layout {
  weightSpec: WeightSpec[]
  parameters: number
  updateSpec: WeightSpec[]
  topology: object
}

export function createModelRegistry({
  blobs,
  budget = DEFAULT_MODEL_BUDGET,
  builder = workerBuilder(),
}: ModelRegistryOptions): ModelRegistry {
  // Each spec's layout as plain data: no built model (and none of its weights) stays in memory.
  const layouts = new Map<string, Layout>()
  const recentWeights = new Map<string, NamedTensor[]>()

  function layout(spec: ModelSpec): Layout {
    const key = JSON.stringify(spec)
    let known = layouts.get(key)
    if (!known) {
      // A stored task's spec after a restart: checked when the task was created.
      const model = buildModel(spec)
      try {
        known = {
          weightSpec: weightSpec(model),
          parameters: model.countParams(),
          updateSpec: updateSpec(model),
          topology: toLayersTopology(model),
        }
      } finally {
        model.dispose()
      }
      layouts.set(key, known)
    }
    return known
  }

  /** A custom model: checked here, built and initialised on the builder, never on this thread. */
  async function createCustom(
    input: Extract<ModelSpecInput, { preset: 'custom' }>,
    spec: ModelSpec,
    seed: number,
  ): Promise<NamedTensor[]> {
    try {
      checkTopology(input.topology, budget)
    } catch (error) {
      if (error instanceof TopologyError) throw new ModelError('model.topology', error.message)
      throw error
    }
    try {
      const { weights, ...known } = await builder.build({
        spec,
        seed,
        ...(input.initialWeights !== undefined ? { initialWeights: input.initialWeights } : {}),
      })
      layouts.set(JSON.stringify(spec), known)
      return weights
    } catch (error) {
      if (error instanceof BuildError) throw new ModelError(error.field, error.message)
      throw error
    }
  }

  /** A preset: Pollen's own small models, built here. */
  function createPreset(spec: ModelSpec, seed: number): NamedTensor[] {
    let fresh
    try {
      fresh = buildSeededModel(spec, seed)
    } catch (error) {
      throw new ModelError('model.preset', (error as Error).message)
    }
    try {
      return getWeights(fresh)
    } finally {
      fresh.dispose()
    }
  }

  const registry: ModelRegistry = {
    async create(input, seed) {
      // Initial weights go to the blob store, not into the stored spec.
      // A sized preset keeps its numbers (classes, inputs, hidden): they are its architecture.
      const spec: ModelSpecInput =
        input.preset === 'custom' ? { preset: 'custom', topology: input.topology } : { ...input }
      const weights =
        input.preset === 'custom' ? await createCustom(input, spec, seed) : createPreset(spec, seed)
      return { spec, hash: await registry.store(weights), info: registry.info(spec) }
    },
    info(spec) {
      const { weightSpec, parameters, updateSpec } = layout(spec)
      const trainableParameters = updateSpec.reduce((n, w) => n + tensorSize(w.shape), 0)
      return {
        spec,
        weightSpec,
        parameters,
        updateSpec,
        trainableParameters,
        payloadBytes: trainableParameters * 4,
      }
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
    topology: (spec) => layout(spec).topology,
    close: () => builder.close(),
  }

  function remember(hash: string, tensors: NamedTensor[]) {
    recentWeights.set(hash, tensors)
    // A few global models at a time is plenty: each task needs only its current one.
    while (recentWeights.size > 16) recentWeights.delete(recentWeights.keys().next().value!)
  }
  return registry
}
