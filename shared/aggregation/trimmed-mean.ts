import { forEachSortedColumn } from './columns.ts'

/**
 * The coordinate-wise trimmed mean of n vectors (Yin et al. 2018; Flower's FedTrimmedAvg, after
 * scipy's trim_mean): per coordinate, ⌊trim × n⌋ values are cut from each end and the rest
 * averaged, unweighted. 0 < trim < 0.5, so at least one value is left. Memory O(n × model) for
 * the vectors the caller holds; time O(model · n log n).
 */
export function trimmedMean(vectors: readonly Float32Array[], trim: number): Float32Array {
  const n = vectors.length
  if (n === 0) throw new RangeError('the trimmed mean of no vectors')
  if (!(trim >= 0 && trim < 0.5)) throw new RangeError(`trim ${trim} is not in [0, 0.5)`)
  const cut = Math.floor(trim * n)
  const kept = n - 2 * cut
  const out = new Float32Array(vectors[0]!.length)
  forEachSortedColumn(vectors, (sorted, k) => {
    let sum = 0
    for (let i = cut; i < n - cut; i++) sum += sorted[i]!
    out[k] = sum / kept
  })
  return out
}
