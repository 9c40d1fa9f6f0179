/**
 * The squared L2 distances between vectors added one at a time: each `add` measures the new
 * vector against every earlier one (O(n × model) time), so a round pays for Multi-Krum's
 * O(n² × model) distances as its reports arrive rather than all at its close. Memory: n²/2
 * float64 distances; the vectors themselves are the caller's.
 */
export interface PairwiseDistances {
  /** Measures `vector` against the vectors added before; throws a RangeError on a length mismatch. */
  add(vector: Float32Array): void
  readonly count: number
  /** The squared distance between the i-th and j-th vectors added. */
  between(i: number, j: number): number
}

export function createPairwiseDistances(): PairwiseDistances {
  const vectors: Float32Array[] = []
  /** rows[i][j], j < i. */
  const rows: Float64Array[] = []
  return {
    add(vector) {
      const d = vectors[0]?.length ?? vector.length
      if (vector.length !== d) throw new RangeError('the vectors differ in length')
      const row = new Float64Array(vectors.length)
      vectors.forEach((other, j) => {
        let sum = 0
        for (let k = 0; k < d; k++) {
          const diff = vector[k]! - other[k]!
          sum += diff * diff
        }
        row[j] = sum
      })
      vectors.push(vector)
      rows.push(row)
    },
    get count() {
      return vectors.length
    },
    between(i, j) {
      if (i === j) return 0
      return i > j ? rows[i]![j]! : rows[j]![i]!
    },
  }
}

/**
 * Krum's scores (Blanchard et al. 2017, "Machine Learning with Adversaries"; Flower's
 * aggregate_krum): each vector's sum of squared L2 distances to its n − f − 2 nearest others
 * (at least 1). A vector far from the crowd scores high.
 */
export function krumScoresOf(distances: PairwiseDistances, byzantine: number): number[] {
  const n = distances.count
  const nearest = Math.max(1, n - byzantine - 2)
  return Array.from({ length: n }, (_, i) => {
    const others = new Float64Array(n - 1)
    for (let j = 0, o = 0; j < n; j++) if (j !== i) others[o++] = distances.between(i, j)
    others.sort()
    let score = 0
    for (let j = 0; j < Math.min(nearest, others.length); j++) score += others[j]!
    return score
  })
}

/** Krum's scores of `vectors` (see krumScoresOf). Time O(n² × model), in float64. */
export function krumScores(vectors: readonly Float32Array[], byzantine: number): number[] {
  const distances = createPairwiseDistances()
  for (const v of vectors) distances.add(v)
  return krumScoresOf(distances, byzantine)
}

/**
 * Multi-Krum's choice from the scores: the indices of the m best (lowest first, ties by index).
 * m defaults to n − f and is at most n − f: more would keep one of the f it guards against.
 */
export function krumSelect(
  scores: readonly number[],
  { byzantine, select }: { byzantine: number; select?: number | undefined },
): number[] {
  const n = scores.length
  if (n === 0) throw new RangeError('Multi-Krum over no vectors')
  const most = Math.max(1, n - byzantine)
  const m = Math.min(select ?? most, most)
  return scores
    .map((score, i) => ({ score, i }))
    .sort((a, b) => a.score - b.score || a.i - b.i)
    .slice(0, m)
    .map(({ i }) => i)
}

/**
 * Multi-Krum: the indices of the m best-scored vectors (see krumSelect). Averaging them is the
 * caller's (under the task's weighting; Flower's by examples). Sound for n ≥ 2f + 3; memory
 * O(n × model) for the vectors the caller holds.
 */
export function multiKrum(
  vectors: readonly Float32Array[],
  options: { byzantine: number; select?: number | undefined },
): number[] {
  if (vectors.length === 0) throw new RangeError('Multi-Krum over no vectors')
  return krumSelect(krumScores(vectors, options.byzantine), options)
}
