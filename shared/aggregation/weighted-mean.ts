import type { NamedTensor, UpdateTensors } from '../tensors/index.ts'
import { createRunningSum, type WeightSpecEntry } from './running-sum.ts'

/**
 * A running weighted mean of deltas: memory O(model) however many updates arrive.
 * Sums in float64 so thousands of float32 updates lose no precision.
 */
export interface WeightedMean {
  add(tensors: UpdateTensors, weight: number): void
  readonly count: number
  readonly totalWeight: number
  /** The weighted mean, or null when nothing (or zero weight) was added. */
  mean(): NamedTensor[] | null
  /** Σ weight·tensors so far, flat, with its count and total weight (a copy). */
  partial(): MeanPartial
  /** Adds a partial() of the same spec: the mean is then that of both sets of updates. */
  merge(partial: MeanPartial): void
}

/**
 * A mean's running state, to be merged with others: hierarchical aggregation, where each
 * coordinator replica sums the updates it took and the owner of the task adds the sums up.
 */
export interface MeanPartial {
  count: number
  /** Σ of the weights (the normalized mean: Σ examples). */
  weight: number
  /** Σ weight·delta, flat in the spec's order. */
  sum: Float64Array
  /** What else the mean needs (the normalized mean: Σ examples·steps). */
  extra: Record<string, unknown>
}

/** A finite, non-negative number from a partial, or a RangeError naming it. */
export function partialNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new RangeError(`the partial's ${name} ${String(value)} is not a finite number ≥ 0`)
  return value
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
    partial: () => ({ count: sum.count, weight: totalWeight, sum: sum.flat(), extra: {} }),
    merge(partial) {
      const weight = partialNumber(partial.weight, 'weight')
      sum.addFlat(partial.sum, partial.count)
      totalWeight += weight
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
