import {
  BlockScratch,
  type EncodedTensors,
  forEachBlock,
  isEncoded,
  tensorSize,
  type NamedTensor,
  type UpdateTensors,
} from '../tensors/index.ts'
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
  /**
   * Adds weight·tensors, or throws a RangeError and leaves the sum as it was. Compressed
   * tensors go to addEncoded.
   */
  add(tensors: UpdateTensors, weight: number): void
  /**
   * Adds weight·(a compressed update), decoding it block by block into one scratch buffer this
   * sum reuses: the same float64 sum, bit for bit, as adding its decodeEncoded tensors. Its
   * frames were checked when it was read (readEncoded), so only its names and shapes are checked
   * here, before anything is added.
   */
  addEncoded(encoded: EncodedTensors, weight: number): void
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
  // One float64 vector in the spec's order, each tensor's sum a view of it: a compressed update
  // (b-bit's one frame spans tensors) adds by its flat offsets.
  const all = new Float64Array(spec.reduce((n, s) => n + tensorSize(s.shape), 0))
  let at = 0
  const sums = spec.map((s) => all.subarray(at, (at += tensorSize(s.shape))))
  const index = new Map(spec.map((s, i) => [s.name, i]))
  const scratch = new BlockScratch()
  let count = 0
  const checkWeight = (weight: number) => {
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new RangeError(`weight ${weight} is not positive`)
  }
  const self: RunningSum = {
    add(tensors, weight) {
      if (isEncoded(tensors)) return self.addEncoded(tensors, weight)
      checkWeight(weight)
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
    addEncoded(encoded, weight) {
      checkWeight(weight)
      const { tensors } = encoded
      if (tensors.length !== spec.length)
        throw new RangeError(`expected ${spec.length} tensors, got ${tensors.length}`)
      tensors.forEach((t, i) => {
        const want = spec[i]!
        const dims =
          t.shape.length === want.shape.length && t.shape.every((d, k) => d === want.shape[k])
        if (t.name !== want.name || !dims)
          throw new RangeError(`tensor ${t.name} does not match the model (${want.name})`)
      })
      if (!Number.isFinite(encoded.norm)) throw new RangeError('the update holds NaN or Infinity')
      const { factors } = encoded
      forEachBlock(encoded, scratch, (start, values, n) => {
        if (factors.length === 0) for (let k = 0; k < n; k++) all[start + k]! += weight * values[k]!
        else
          for (let k = 0; k < n; k++) {
            // Rounded to float32 after each factor, as scaling the decoded tensors would be.
            let v = values[k]!
            for (const f of factors) v = Math.fround(v * f)
            all[start + k]! += weight * v
          }
      })
      count++
    },
    get count() {
      return count
    },
    flat: () => all.slice(),
    addFlat(flat, n) {
      if (flat.length !== all.length)
        throw new RangeError(`a partial sum of ${flat.length} numbers, the model has ${all.length}`)
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`count ${n} is not a whole number`)
      for (let k = 0; k < flat.length; k++)
        if (!Number.isFinite(flat[k]!))
          throw new RangeError('the partial sum holds NaN or Infinity')
      for (let k = 0; k < flat.length; k++) all[k]! += flat[k]!
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
  return self
}
