import { forEachColumn, type ColumnOptions } from './columns.ts'
import { maxOf, select } from './select.ts'

/**
 * The coordinate-wise median of n vectors (Yin et al. 2018; Flower's FedMedian), unweighted:
 * each report counts once whatever its examples. Even n takes the mean of the two middle values,
 * as numpy's median does. Fewer than half the vectors can move no coordinate past the values of
 * the others. Memory O(n × model) for the vectors the caller holds; time O(n × model) expected
 * (a selection per coordinate, not a sort), in chunks that give the event loop a turn between
 * them (see forEachColumn).
 */
export async function coordinateMedian(
  vectors: readonly Float32Array[],
  options: ColumnOptions = {},
): Promise<Float32Array> {
  const n = vectors.length
  if (n === 0) throw new RangeError('the median of no vectors')
  const out = new Float32Array(vectors[0]!.length)
  const half = n >> 1
  await forEachColumn(
    vectors,
    (column, k) => {
      select(column, half)
      // The lower middle value is the largest of those the selection put before the upper one.
      out[k] = n % 2 === 1 ? column[half]! : (maxOf(column, 0, half) + column[half]!) / 2
    },
    options,
  )
  return out
}
