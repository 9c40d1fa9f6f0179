export type { Examples } from '../data/index.ts'
export { assertPlan, makeOptimizer, MOMENTUM, OPTIMIZERS, trainLocally } from './train.ts'
export { plannedSteps } from '../protocol/device.ts'
export type {
  OptimizerName,
  TrainCheckpoint,
  TrainOptions,
  TrainPlan,
  TrainProgress,
  TrainResult,
} from './train.ts'
export { evaluate } from './evaluate.ts'
export type { EvaluateOptions, Evaluation } from './evaluate.ts'
export { crossEntropy, EPSILON } from './common.ts'
export { assertTrainable, missingTrainingKernels, TRAINING_KERNELS } from './kernels.ts'
export { fastestStep, measureSpeed, SPEED_MODEL } from './speed.ts'
export type { SpeedMeasurement, SpeedOptions } from './speed.ts'
