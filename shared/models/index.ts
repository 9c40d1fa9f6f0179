export {
  buildModel,
  getWeights,
  modelsBySpec,
  parameterCount,
  setWeights,
  updateSpec,
  weightName,
  weightSpec,
} from './models.ts'
export type { ModelSpec, WeightSpec } from './models.ts'
export { buildSeededModel, initialWeights, seedInitializers } from './init.ts'
export { fitModelToDataset } from './fit.ts'
export type { FitResult } from './fit.ts'
export { DEFAULT_CLASSES, DEFAULT_HIDDEN, MNIST_PRESETS, PRESETS } from './presets.ts'
export type { MnistPresetName, PresetName, PresetSize } from './presets.ts'
export { modelFromTopology, toLayersTopology } from './topology.ts'
export type { LayersTopology } from './topology.ts'
export {
  checkTopology,
  DEFAULT_MODEL_BUDGET,
  SUPPORTED_LAYERS,
  TopologyError,
} from './topology-check.ts'
export type { ModelBudget, TopologySummary } from './topology-check.ts'
