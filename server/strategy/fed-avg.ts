import {
  applyDelta,
  createWeightedMean,
  type WeightedMean,
} from '../../shared/aggregation/index.ts'
import type { RoundAggregation, Strategy } from './types.ts'

export interface FedAvgOptions {
  /** 'examples' weights each update by its examples (McMahan et al. 2017); 'uniform' equally. */
  weighting?: 'examples' | 'uniform'
  /** Server learning rate on the mean delta; 1 is plain FedAvg. */
  serverLearningRate?: number
}

/** FedAvg as a streaming aggregator: memory O(model), not O(devices). */
export function fedAvg({
  weighting = 'examples',
  serverLearningRate = 1,
}: FedAvgOptions = {}): Strategy {
  const means = new WeakMap<RoundAggregation, WeightedMean>()
  return {
    name: weighting === 'examples' ? 'fedavg' : 'fedavg-uniform',
    configureTrain: ({ settings }) => ({ ...settings }),
    beginRound({ spec }) {
      const mean = createWeightedMean(spec)
      let examples = 0
      const aggregation: RoundAggregation = {
        accept(report) {
          mean.add(report.delta, weighting === 'examples' ? report.examples : 1)
          examples += report.examples
        },
        get reports() {
          return mean.count
        },
        get examples() {
          return examples
        },
      }
      means.set(aggregation, mean)
      return aggregation
    },
    aggregateTrain({ global, aggregation }) {
      const delta = means.get(aggregation)?.mean()
      return delta ? applyDelta(global, delta, serverLearningRate) : null
    },
    configureEvaluate: () => ({ heldOut: true }),
    aggregateEvaluate: ({ heldOut }) => ({
      accuracy: heldOut?.accuracy ?? null,
      loss: heldOut?.loss ?? null,
    }),
  }
}
