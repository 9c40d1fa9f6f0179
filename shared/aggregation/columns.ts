import { nextMacrotask } from '../macrotask/index.ts'

export interface ColumnOptions {
  /**
   * Values read between two turns given back to the event loop: 2¹⁶ is a few milliseconds of
   * work, so a coordinator closing a round of 30 reports of a 1.2 M-weight model answers other
   * requests ~500 times on the way instead of not at all for seconds.
   */
  chunkValues?: number
}

/**
 * Calls `use(column, k)` for every coordinate k of n equal-length vectors, with `column` holding
 * the n values at k in the vectors' order (a scratch array, reused: `use` may reorder it, and
 * reads it before returning). Between chunks of coordinates it waits for the next macrotask, so
 * timers, I/O and other requests run while a large round closes. Time O(d · n) beside `use`,
 * memory O(n) beside the vectors.
 */
export async function forEachColumn(
  vectors: readonly Float32Array[],
  use: (column: Float64Array, k: number) => void,
  { chunkValues = 2 ** 16 }: ColumnOptions = {},
): Promise<void> {
  const n = vectors.length
  const d = vectors[0]?.length ?? 0
  if (vectors.some((v) => v.length !== d)) throw new RangeError('the vectors differ in length')
  const column = new Float64Array(n)
  const chunk = Math.max(1, Math.floor(chunkValues / Math.max(n, 1)))
  for (let start = 0; start < d; start += chunk) {
    if (start > 0) await nextMacrotask()
    const end = Math.min(d, start + chunk)
    for (let k = start; k < end; k++) {
      for (let i = 0; i < n; i++) column[i] = vectors[i]![k]!
      use(column, k)
    }
  }
}
