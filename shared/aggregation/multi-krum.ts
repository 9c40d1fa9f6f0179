/**
 * Krum's scores (Blanchard et al. 2017, "Machine Learning with Adversaries"; Flower's
 * aggregate_krum): each vector's sum of squared L2 distances to its n − f − 2 nearest others
 * (at least 1). A vector far from the crowd scores high. Time O(n² × model), in float64.
 */
export function krumScores(vectors: readonly Float32Array[], byzantine: number): number[] {
  const n = vectors.length
  const d = vectors[0]?.length ?? 0
  if (vectors.some((v) => v.length !== d)) throw new RangeError('the vectors differ in length')
  const distances = Array.from({ length: n }, () => new Float64Array(n))
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const a = vectors[i]!
      const b = vectors[j]!
      let sum = 0
      for (let k = 0; k < d; k++) {
        const diff = a[k]! - b[k]!
        sum += diff * diff
      }
      distances[i]![j] = sum
      distances[j]![i] = sum
    }
  const nearest = Math.max(1, n - byzantine - 2)
  return distances.map((row, i) => {
    const others = row.filter((_, j) => j !== i).sort()
    let score = 0
    for (let j = 0; j < Math.min(nearest, others.length); j++) score += others[j]!
    return score
  })
}

/**
 * Multi-Krum's choice: the indices of the m best-scored vectors (lowest scores first, ties by
 * index). m defaults to n − f and is at most n − f: more would keep one of the f it guards
 * against. Averaging them is the caller's (under the task's weighting; Flower's by examples).
 * Sound for n ≥ 2f + 3; memory O(n × model) for the vectors the caller holds.
 */
export function multiKrum(
  vectors: readonly Float32Array[],
  { byzantine, select }: { byzantine: number; select?: number | undefined },
): number[] {
  const n = vectors.length
  if (n === 0) throw new RangeError('Multi-Krum over no vectors')
  const most = Math.max(1, n - byzantine)
  const m = Math.min(select ?? most, most)
  const scores = krumScores(vectors, byzantine)
  return scores
    .map((score, i) => ({ score, i }))
    .sort((a, b) => a.score - b.score || a.i - b.i)
    .slice(0, m)
    .map(({ i }) => i)
}
