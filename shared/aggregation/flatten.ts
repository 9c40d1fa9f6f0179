import { tensorSize, type NamedTensor } from '../tensors/index.ts'
import { allFinite } from './finite.ts'
import type { WeightSpecEntry } from './running-sum.ts'

/** An update as one vector in the model spec's order, and back: what the robust rules work on. */
export interface Flattener {
  /** Values in the model. */
  readonly size: number
  /** A copy of the update as one vector; throws a RangeError if it does not fit the model. */
  flatten(tensors: readonly NamedTensor[]): Float32Array
  /** A vector of `size` values as the model's tensors (views on it: copy before changing). */
  unflatten(vector: Float32Array): NamedTensor[]
}

export function createFlattener(spec: readonly WeightSpecEntry[]): Flattener {
  const sizes = spec.map((s) => tensorSize(s.shape))
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0))
  const size = sizes.reduce((a, b) => a + b, 0)
  const index = new Map(spec.map((s, i) => [s.name, i]))
  return {
    size,
    flatten(tensors) {
      if (tensors.length !== spec.length)
        throw new RangeError(`expected ${spec.length} tensors, got ${tensors.length}`)
      const slots = tensors.map((t) => {
        const i = index.get(t.name)
        if (i === undefined || sizes[i] !== t.data.length)
          throw new RangeError(`tensor ${t.name} does not match the model`)
        return i
      })
      if (new Set(slots).size !== slots.length) throw new RangeError('a tensor appears twice')
      if (!allFinite(tensors)) throw new RangeError('the update holds NaN or Infinity')
      const vector = new Float32Array(size)
      tensors.forEach((t, j) => vector.set(t.data, offsets[slots[j]!]))
      return vector
    },
    unflatten(vector) {
      if (vector.length !== size)
        throw new RangeError(`expected ${size} values, got ${vector.length}`)
      return spec.map((s, i) => ({
        name: s.name,
        shape: [...s.shape],
        dtype: 'float32' as const,
        data: vector.subarray(offsets[i], offsets[i]! + sizes[i]!),
      }))
    },
  }
}
