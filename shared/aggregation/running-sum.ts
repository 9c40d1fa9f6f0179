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
  /** A copy of Σ, flat in the spec's order, in float64: a partial sum to merge elsewhere. */
  flat(): Float64Array
  /**
   * Adds another sum of `count` updates (what flat() gave), so that sums kept apart (one per
   * coordinator replica) add up to the one sum; a RangeError leaves this one as it was.
   */
  addFlat(flat: Float64Array, count: number): void
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
    flat() {
      const out = new Float64Array(sums.reduce((n, sum) => n + sum.length, 0))
      let at = 0
      for (const sum of sums) {
        out.set(sum, at)
        at += sum.length
      }
      return out
    },
    addFlat(flat, n) {
      const size = sums.reduce((total, sum) => total + sum.length, 0)
      if (flat.length !== size)
        throw new RangeError(`a partial sum of ${flat.length} numbers, the model has ${size}`)
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`count ${n} is not a whole number`)
      for (let k = 0; k < flat.length; k++)
        if (!Number.isFinite(flat[k]!))
          throw new RangeError('the partial sum holds NaN or Infinity')
      let at = 0
      for (const sum of sums) {
        for (let k = 0; k < sum.length; k++) sum[k]! += flat[at + k]!
        at += sum.length
      }
      count += n
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
