import { forEachSortedColumn } from './columns.ts'

/**
 * The coordinate-wise median of n vectors (Yin et al. 2018; Flower's FedMedian), unweighted:
 * each report counts once whatever its examples. Even n takes the mean of the two middle values,
 * as numpy's median does. Fewer than half the vectors can move no coordinate past the values of
 * the others. Memory O(n × model) for the vectors the caller holds; time O(model · n log n).
 */
export function coordinateMedian(vectors: readonly Float32Array[]): Float32Array {
  const n = vectors.length
  if (n === 0) throw new RangeError('the median of no vectors')
  const out = new Float32Array(vectors[0]!.length)
  const half = n >> 1
  forEachSortedColumn(vectors, (sorted, k) => {
    out[k] = n % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2
  })
  return out
}
