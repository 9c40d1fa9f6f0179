import type { Weighting } from '../../shared/protocol/index.ts'
import { strategyFor, type AggregationStrategy } from './aggregation-strategy.ts'

export interface FedAvgOptions {
  /**
   * 'examples' weights each update by its examples (McMahan et al. 2017); 'uniform' equally;
   * 'normalized' per local step (FedNova).
   */
  weighting?: Weighting
  /** Server learning rate on the mean delta; 1 is plain FedAvg. */
  serverLearningRate?: number
}

/** FedAvg as a streaming aggregator: memory O(model), not O(devices). */
export function fedAvg(options: FedAvgOptions = {}): AggregationStrategy {
  return strategyFor({ ...options, optimizer: 'fedavg' })
}
