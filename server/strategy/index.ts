export type * from './types.ts'
export {
  strategyFor,
  type AggregationStrategy,
  type StrategyOptions,
} from './aggregation-strategy.ts'
export { fedAvg, type FedAvgOptions } from './fed-avg.ts'
export { ROBUST_ROUND_BYTES, robustMemoryRefusal } from './robust-round.ts'
export {
  scaled,
  withPrivateMean,
  withStaleness,
  withUpdateBounds,
  type PrivateMeanOptions,
  type ReportBounds,
} from './wrappers/index.ts'
