import { describe, expect, it } from 'vitest'
import { near } from './fixtures.ts'
import { coordinateMedian } from './median.ts'
import { NUMPY, SIX } from './robust.fixtures.ts'

const v = (...values: number[]) => new Float32Array(values)

describe('coordinateMedian', () => {
  it('takes the middle value of each coordinate, unweighted', async () => {
    // columns sorted: [1, 2, 100] → 2; [-5, 0, 10] → 0; [-3, 0, 1] → 0
    expect(Array.from(await coordinateMedian([v(1, 10, -3), v(2, -5, 0), v(100, 0, 1)]))).toEqual([
      2, 0, 0,
    ])
  })

  it('averages the two middle values of an even count, as numpy does', async () => {
    // + [3, 7, 2]: [1, 2, 3, 100] → 2.5; [-5, 0, 7, 10] → 3.5; [-3, 0, 1, 2] → 0.5
    const four = [v(1, 10, -3), v(2, -5, 0), v(100, 0, 1), v(3, 7, 2)]
    expect(Array.from(await coordinateMedian(four))).toEqual([2.5, 3.5, 0.5])
  })

  it("matches numpy's median, which Flower's FedMedian takes", async () => {
    expect(Array.from(await coordinateMedian(SIX))).toEqual(near(NUMPY.median6))
    expect(Array.from(await coordinateMedian(SIX.slice(0, 5)))).toEqual(near(NUMPY.median5))
  })

  it('is not moved past the honest values by a minority, however large', async () => {
    const honest = [v(0.1, -0.2), v(0.2, -0.1), v(0.3, 0)]
    const attack = [v(1e30, -3e38), v(-1e30, 3e38)]
    const median = Array.from(await coordinateMedian([...honest, ...attack]))
    expect(median).toEqual(near([0.2, -0.1]))
  })

  it('selects in long columns too (more reports than an insertion sort takes)', async () => {
    const many = Array.from({ length: 101 }, (_, i) => v((i * 37) % 101, -i))
    expect(Array.from(await coordinateMedian(many))).toEqual([50, -50])
  })

  it('refuses no vectors and vectors of different lengths', async () => {
    await expect(coordinateMedian([])).rejects.toThrow(RangeError)
    await expect(coordinateMedian([v(1, 2), v(1)])).rejects.toThrow(/differ in length/)
  })
})
