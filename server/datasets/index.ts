export { classHistogram, decodeHeldOut, encodeHeldOut, type HeldOutExamples } from './blob.ts'
export {
  createDatasets,
  type Datasets,
  type DatasetDirectory,
  type DatasetsOptions,
} from './registry.ts'
export type { SharedDatasets } from './mirror.ts'
export { datasetListing, datasetView } from './views.ts'
export { DEFAULT_HELD_OUT_LIMITS, readHeldOutUpload, type HeldOutLimits } from './upload.ts'
export { fitTaskToDataset, checkDeclaredHistograms } from './fit.ts'
