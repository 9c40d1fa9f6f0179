/**
 * Calls `use(sorted, k)` for every coordinate k of n equal-length vectors, with `sorted` holding
 * the n values at k in ascending order (a scratch array, reused: read it before returning).
 * Time O(d · n log n), memory O(n) beside the vectors.
 */
export function forEachSortedColumn(
  vectors: readonly Float32Array[],
  use: (sorted: Float64Array, k: number) => void,
): void {
  const n = vectors.length
  const d = vectors[0]?.length ?? 0
  if (vectors.some((v) => v.length !== d)) throw new RangeError('the vectors differ in length')
  const column = new Float64Array(n)
  for (let k = 0; k < d; k++) {
    for (let i = 0; i < n; i++) column[i] = vectors[i]![k]!
    // Insertion sort wins for the few reports a round usually has; the built-in sort beyond.
    if (n <= 32) insertionSort(column)
    else column.sort()
    use(column, k)
  }
}

function insertionSort(a: Float64Array): void {
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!
    let j = i - 1
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!
      j--
    }
    a[j + 1] = x
  }
}
