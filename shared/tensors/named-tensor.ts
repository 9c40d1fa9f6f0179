/** A flat float32 tensor with a stable name, as models and updates travel and are stored. */
export interface NamedTensor {
  name: string
  shape: number[]
  dtype: 'float32'
  data: Float32Array
}

export const tensorSize = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)
