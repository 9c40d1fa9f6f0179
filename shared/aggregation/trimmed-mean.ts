import { forEachColumn, type ColumnOptions } from './columns.ts'
import { select, sortRange } from './select.ts'

/** Columns longer than this select the cut values aside before sorting the kept ones. */
const SELECT_ABOVE = 32

/**
 * The coordinate-wise trimmed mean of n vectors (Yin et al. 2018; Flower's FedTrimmedAvg, after
 * scipy's trim_mean): per coordinate, ⌊trim × n⌋ values are cut from each end and the rest
 * averaged, unweighted. 0 ≤ trim < 0.5, so at least one value is left. Memory O(n × model) for
 * the vectors the caller holds; in chunks that give the event loop a turn between them (see
 * forEachColumn).
 */
export async function trimmedMean(
  vectors: readonly Float32Array[],
  trim: number,
  options: ColumnOptions = {},
): Promise<Float32Array> {
  const n = vectors.length
  if (n === 0) throw new RangeError('the trimmed mean of no vectors')
  if (!(trim >= 0 && trim < 0.5)) throw new RangeError(`trim ${trim} is not in [0, 0.5)`)
  const cut = Math.floor(trim * n)
  const kept = n - 2 * cut
  const out = new Float32Array(vectors[0]!.length)
  await forEachColumn(
    vectors,
    (column, k) => {
      // The kept values are summed in ascending order, so that the float64 sum rounds as it
      // did after a full sort, bit for bit: they are sorted either way. Setting the cut ones
      // aside by two selections first pays only in long columns (twice as fast at 100 reports,
      // slower at 30, where an insertion sort of the whole column wins).
      if (cut > 0 && n > SELECT_ABOVE) {
        select(column, cut - 1)
        select(column, n - cut, cut)
        sortRange(column, cut, n - cut)
      } else sortRange(column)
      let sum = 0
      for (let i = cut; i < n - cut; i++) sum += column[i]!
      out[k] = sum / kept
    },
    options,
  )
  return out
}
