import { describe, expect, it } from 'vitest'
import { createPairwiseDistances, krumScores, krumScoresOf, multiKrum } from './multi-krum.ts'

const v = (...values: number[]) => new Float32Array(values)

// Five reports, f = 1, so each is scored by its n − f − 2 = 2 nearest (squared distances):
//   a [0, 0]: b 1, c 1, d 8, e 200   → 1 + 1 = 2
//   b [1, 0]: a 1, c 2, d 5, e 181   → 1 + 2 = 3
//   c [0, 1]: a 1, b 2, d 5, e 181   → 3
//   d [2, 2]: a 8, b 5, c 5, e 128   → 10
//   e [10, 10]: d 128, b 181, c 181, a 200 → 309
const five = [v(0, 0), v(1, 0), v(0, 1), v(2, 2), v(10, 10)]

describe('krumScores', () => {
  it("sums each vector's squared distances to its n − f − 2 nearest", () => {
    expect(krumScores(five, 1)).toEqual([2, 3, 3, 10, 309])
  })

  it('takes at least the nearest one, as Flower does when n − f − 2 < 1', () => {
    // f = 3: max(1, 5 − 3 − 2) = 1 nearest
    expect(krumScores(five, 3)).toEqual([1, 1, 1, 5, 128])
  })
})

describe('multiKrum', () => {
  it('keeps the n − f best-scored by default, best first', () => {
    expect(multiKrum(five, { byzantine: 1 })).toEqual([0, 1, 2, 3])
  })

  it('keeps m when asked, at most n − f, ties broken by order', () => {
    expect(multiKrum(five, { byzantine: 1, select: 2 })).toEqual([0, 1])
    expect(multiKrum(five, { byzantine: 1, select: 3 })).toEqual([0, 1, 2])
    expect(multiKrum(five, { byzantine: 1, select: 50 })).toEqual([0, 1, 2, 3])
    // Krum itself: the one best.
    expect(multiKrum(five, { byzantine: 1, select: 1 })).toEqual([0])
  })

  it('drops a report scaled by 10⁶ among honest ones', () => {
    const honest = [
      v(0.1, 0.2, -0.1),
      v(0.12, 0.18, -0.09),
      v(0.09, 0.21, -0.12),
      v(0.11, 0.2, -0.1),
    ]
    const scaled = v(0.1e6, 0.2e6, -0.1e6)
    const kept = multiKrum([honest[0]!, scaled, ...honest.slice(1)], { byzantine: 1 })
    expect(kept).not.toContain(1)
    expect(kept).toHaveLength(4)
  })

  it('refuses no vectors and vectors of different lengths', () => {
    expect(() => multiKrum([], { byzantine: 1 })).toThrow(RangeError)
    expect(() => krumScores([v(1, 2), v(1)], 1)).toThrow(/differ in length/)
  })
})

describe('createPairwiseDistances', () => {
  it('measures each vector against the earlier ones as it arrives', () => {
    const distances = createPairwiseDistances()
    for (const vector of five) distances.add(vector)
    expect(distances.count).toBe(5)
    expect([distances.between(0, 4), distances.between(4, 0), distances.between(3, 3)]).toEqual([
      200, 200, 0,
    ])
    expect(krumScoresOf(distances, 1)).toEqual(krumScores(five, 1))
    expect(() => distances.add(v(1, 2, 3))).toThrow(/differ in length/)
    expect(distances.count).toBe(5)
  })
})
