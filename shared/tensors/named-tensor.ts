/** A flat float32 tensor with a stable name, as models and updates travel and are stored. */
export interface NamedTensor {
  name: string
  shape: number[]
  dtype: 'float32'
  data: Float32Array
}

export const tensorSize = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** Every entry of `tensors`, in order, as one vector: what secure aggregation masks and sums. */
export function flattenTensors(tensors: readonly NamedTensor[]): Float32Array {
  const flat = new Float32Array(tensors.reduce((n, t) => n + t.data.length, 0))
  let offset = 0
  for (const t of tensors) {
    flat.set(t.data, offset)
    offset += t.data.length
  }
  return flat
}

/** A vector cut back into tensors with `spec`'s names and shapes, in order (rounded to float32). */
export function unflattenTensors(
  flat: Float32Array | Float64Array,
  spec: readonly { name: string; shape: readonly number[] }[],
): NamedTensor[] {
  const length = spec.reduce((n, s) => n + tensorSize(s.shape), 0)
  if (flat.length !== length) throw new RangeError(`${flat.length} entries, not ${length}`)
  let offset = 0
  return spec.map((s) => {
    const size = tensorSize(s.shape)
    const data = Float32Array.from(flat.subarray(offset, offset + size))
    offset += size
    return { name: s.name, shape: [...s.shape], dtype: 'float32' as const, data }
  })
}
