import { createRunningSum, type WeightSpecEntry } from '../../shared/aggregation/index.ts'
import { addGaussianNoise, clipToNorm } from '../../shared/privacy/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'

/**
 * A private round's sum (DP-FedAvg, McMahan et al. 2018): every update counts once, clipped to
 * L2 norm `clipNorm`; the mean is the sum, plus Gaussian noise where the server adds it, over
 * the number of updates. With secure aggregation the sum arrives whole, already clipped and
 * noised by the devices.
 */
export interface PrivateSum {
  /** Clips a plain update and adds it; a RangeError (shapes, NaN) leaves the sum as it was. */
  addUpdate(delta: readonly NamedTensor[]): void
  /**
   * Adds the sum of `count` updates, flat in the spec's order: secure aggregation's result, or
   * another replica's sum of the round (what flat() gave there). A RangeError leaves the sum.
   */
  addSum(flat: Float64Array, count: number): void
  /** A copy of Σ so far, flat in the spec's order, in float64 (before any noise). */
  flat(): Float64Array
  readonly count: number
  /** (Σ + N(0, noiseStd²)) / count per entry; noiseStd is a standard deviation. */
  mean(noiseStd: number): NamedTensor[]
}

export function createPrivateSum(
  spec: readonly WeightSpecEntry[],
  { clipNorm }: { clipNorm: number },
): PrivateSum {
  const sum = createRunningSum(spec)
  let count = 0
  return {
    addUpdate(delta) {
      // The server clips too: a device that skipped its clipping gains no extra weight.
      sum.add(clipToNorm(delta, clipNorm).tensors, 1)
      count += 1
    },
    addSum(flat, n) {
      sum.addFlat(flat, n)
      count += n
    },
    flat: () => sum.flat(),
    get count() {
      return count
    },
    mean(noiseStd) {
      if (count === 0) throw new RangeError('no updates to average')
      const noised = noiseStd > 0 ? addGaussianNoise(sum.scaled(1), noiseStd) : sum.scaled(1)
      return noised.map((t) => ({ ...t, data: t.data.map((v) => v / count) }))
    },
  }
}
