import type { NamedTensor } from '../tensors/index.ts'
import { createRunningSum, type WeightSpecEntry } from './running-sum.ts'

/**
 * A running weighted mean of deltas: memory O(model) however many updates arrive.
 * Sums in float64 so thousands of float32 updates lose no precision.
 */
export interface WeightedMean {
  add(tensors: readonly NamedTensor[], weight: number): void
  readonly count: number
  readonly totalWeight: number
  /** The weighted mean, or null when nothing (or zero weight) was added. */
  mean(): NamedTensor[] | null
}

export function createWeightedMean(spec: readonly WeightSpecEntry[]): WeightedMean {
  const sum = createRunningSum(spec)
  let totalWeight = 0
  return {
    add(tensors, weight) {
      sum.add(tensors, weight)
      totalWeight += weight
    },
    get count() {
      return sum.count
    },
    get totalWeight() {
      return totalWeight
    },
    mean() {
      if (sum.count === 0 || totalWeight === 0) return null
      return sum.scaled(1 / totalWeight)
    },
  }
}

/** w + lr·Δ, tensor by tensor, matched by name. */
export function applyDelta(
  weights: readonly NamedTensor[],
  delta: readonly NamedTensor[],
  learningRate = 1,
): NamedTensor[] {
  const byName = new Map(delta.map((d) => [d.name, d]))
  return weights.map((w) => {
    const d = byName.get(w.name)
    if (!d || d.data.length !== w.data.length) throw new RangeError(`delta lacks ${w.name}`)
    const data = new Float32Array(w.data.length)
    for (let k = 0; k < data.length; k++) data[k] = w.data[k]! + learningRate * d.data[k]!
    return { ...w, shape: [...w.shape], data }
  })
}
