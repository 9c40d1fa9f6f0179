// Order statistics of one coordinate's values: what the median and the trimmed mean need of a
// column without sorting all of it. The values are finite (flatten refuses NaN and Infinity) and
// compared as numbers: −0 and +0 are equal, so where a column holds both, only the sign of a zero
// result can differ from a full sort's (as it already did between insertion and built-in sort).

/** Below this many values a range is sorted by insertion: fewer moves than partitioning. */
const SMALL = 16

/**
 * Reorders a[lo, hi) so that a[k] holds the value it would hold were the range sorted, with no
 * value before it greater and none after it smaller (Hoare's FIND, after Wirth). Median-of-three
 * pivots; after ~2 log₂ n partitions that did not close in on k (values an attacker chose), the
 * range left is sorted instead, so the worst case stays O(n log n) (introselect). O(n) expected.
 */
export function select(a: Float64Array, k: number, lo = 0, hi = a.length): void {
  if (!(k >= lo && k < hi)) throw new RangeError(`index ${k} is not in [${lo}, ${hi})`)
  let left = lo
  let right = hi - 1
  let budget = 2 * (32 - Math.clz32(hi - lo))
  while (right - left >= SMALL) {
    if (budget-- === 0) {
      a.subarray(left, right + 1).sort()
      return
    }
    const pivot = medianOfThree(a[left]!, a[(left + right) >> 1]!, a[right]!)
    let i = left
    let j = right
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        const t = a[i]!
        a[i++] = a[j]!
        a[j--] = t
      }
    }
    // Now a[left, j] ≤ pivot ≤ a[i, right], and anything between equals the pivot.
    if (k <= j) right = j
    else if (k >= i) left = i
    else return
  }
  sortRange(a, left, right + 1)
}

/** Sorts a[lo, hi) ascending: insertion for a few values, the built-in sort beyond. */
export function sortRange(a: Float64Array, lo = 0, hi = a.length): void {
  if (hi - lo > 32) {
    a.subarray(lo, hi).sort()
    return
  }
  for (let i = lo + 1; i < hi; i++) {
    const x = a[i]!
    let j = i - 1
    while (j >= lo && a[j]! > x) {
      a[j + 1] = a[j]!
      j--
    }
    a[j + 1] = x
  }
}

/** The largest of a[lo, hi), which must not be empty. */
export function maxOf(a: Float64Array, lo: number, hi: number): number {
  let max = a[lo]!
  for (let i = lo + 1; i < hi; i++) if (a[i]! > max) max = a[i]!
  return max
}

function medianOfThree(x: number, y: number, z: number): number {
  if (x < y) return y < z ? y : x < z ? z : x
  return x < z ? x : y < z ? z : y
}
