import { tensorSize, type NamedTensor } from '../tensors/index.ts'
import { allFinite } from './finite.ts'

export interface WeightSpecEntry {
  name: string
  shape: number[]
}

/**
 * Σ weight·tensors over the updates added so far, in float64 so thousands of float32 updates
 * lose no precision; memory O(model) however many arrive. The means are built on it.
 */
export interface RunningSum {
  /** Adds weight·tensors, or throws a RangeError and leaves the sum as it was. */
  add(tensors: readonly NamedTensor[], weight: number): void
  readonly count: number
  /** factor·Σ, rounded to float32, in the spec's order. */
  scaled(factor: number): NamedTensor[]
}

export function createRunningSum(spec: readonly WeightSpecEntry[]): RunningSum {
  const sums = spec.map((s) => new Float64Array(tensorSize(s.shape)))
  const index = new Map(spec.map((s, i) => [s.name, i]))
  let count = 0
  return {
    add(tensors, weight) {
      if (!(weight > 0) || !Number.isFinite(weight))
        throw new RangeError(`weight ${weight} is not positive`)
      if (tensors.length !== spec.length)
        throw new RangeError(`expected ${spec.length} tensors, got ${tensors.length}`)
      // Check every tensor before touching the sums, so a bad update leaves them as they were.
      const targets = tensors.map((t) => {
        const i = index.get(t.name)
        const sum = i === undefined ? undefined : sums[i]
        if (sum === undefined || sum.length !== t.data.length)
          throw new RangeError(`tensor ${t.name} does not match the model`)
        return sum
      })
      if (new Set(targets).size !== targets.length) throw new RangeError('a tensor appears twice')
      if (!allFinite(tensors)) throw new RangeError('the update holds NaN or Infinity')
      tensors.forEach((t, j) => {
        const sum = targets[j]!
        const data = t.data
        for (let k = 0; k < data.length; k++) sum[k]! += weight * data[k]!
      })
      count++
    },
    get count() {
      return count
    },
    scaled(factor) {
      return spec.map((s, i) => {
        const sum = sums[i]!
        const data = new Float32Array(sum.length)
        for (let k = 0; k < sum.length; k++) data[k] = factor * sum[k]!
        return { name: s.name, shape: [...s.shape], dtype: 'float32' as const, data }
      })
    },
  }
}
