import { partialNumber } from '../../../shared/aggregation/index.ts'
import { materialize } from '../../../shared/tensors/index.ts'
import { createPrivateSum } from '../../privacy/private-sum.ts'
import type { RoundAggregation, Strategy } from '../types.ts'
import { wrapStrategy } from './wrap.ts'

export interface PrivateMeanOptions {
  /** Every update is clipped to this L2 norm as it is accepted (Infinity: none). */
  clipNorm: number
  /** Standard deviation of the Gaussian noise the server adds to the sum (0: none). */
  noiseStd: number
  /** The noised sum leaves the round (into the model): where the accountant charges its ε. */
  onRelease?: (round: number) => void
}

/**
 * DP-FedAvg's server side (McMahan et al. 2018), as Flower's
 * DifferentialPrivacyServerSideFixedClipping: each update is clipped to `clipNorm` and counts once;
 * at the close `inner` is handed one report, (Σ + N(0, noiseStd²)) / n. A secure round's sum,
 * clipped and noised by the devices, arrives whole through `acceptSum`. Another aggregation's
 * partial() of the same round merges as its clipped sum and count.
 */
export function withPrivateMean(inner: Strategy, options: PrivateMeanOptions): Strategy {
  const { clipNorm, noiseStd, onRelease } = options
  const sums = new WeakMap<RoundAggregation, ReturnType<typeof createPrivateSum>>()
  return wrapStrategy(inner, 'private-mean', {
    begin({ spec }) {
      const sum = createPrivateSum(spec, { clipNorm })
      let examples = 0
      const outer: RoundAggregation = {
        accept(report) {
          sum.addUpdate(materialize(report.delta))
          examples += report.examples
        },
        acceptSum: (flat, count) => sum.addSum(flat, count),
        // Clipped sums add up (each update clipped alone, counted once): a replica's part of the
        // round merges into the owner's, and the noise is drawn once, at the close.
        partial: () => ({
          reports: sum.count,
          examples,
          weight: sum.count,
          sum: sum.flat(),
          extra: {},
        }),
        merge(state) {
          const n = partialNumber(state.examples, 'examples')
          sum.addSum(state.sum, state.reports)
          examples += n
        },
        get reports() {
          return sum.count
        },
        get examples() {
          return examples
        },
      }
      sums.set(outer, sum)
      return outer
    },
    finish(round, outer, aggregation) {
      const sum = sums.get(outer)!
      const delta = sum.mean(noiseStd)
      onRelease?.(round)
      // One update for `inner`: its mean of one is this delta, whatever the weighting.
      aggregation.accept({ deviceId: 'private-sum', delta, examples: sum.count, steps: 1 })
    },
  })
}
