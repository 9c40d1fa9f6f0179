import { expect } from 'vitest'
import type { NamedTensor } from '../tensors/index.ts'

/** A one-dimensional float32 tensor, for tests. */
export const tensor = (name: string, values: readonly number[]): NamedTensor => ({
  name,
  shape: [values.length],
  dtype: 'float32',
  data: new Float32Array(values),
})

/** A tensor's values as a plain array, for `toEqual`. */
export const values = (t: NamedTensor | undefined): number[] => Array.from(t?.data ?? [])

/** Each of `expected` to six decimals, for `toEqual` against float32 results. */
export const near = (expected: readonly number[]): unknown[] =>
  expected.map((x): unknown => expect.closeTo(x, 6))
