import { describe, expect, it } from 'vitest'
import { near } from './fixtures.ts'
import { NUMPY, SIX } from './robust.fixtures.ts'
import { trimmedMean } from './trimmed-mean.ts'

const v = (...values: number[]) => new Float32Array(values)

describe('trimmedMean', () => {
  it('cuts ⌊trim × n⌋ values from each end of each coordinate and averages the rest', async () => {
    // n = 5, trim 0.2: one cut from each end. [1, 2, 3, 4, 100] → (2 + 3 + 4)/3 = 3;
    // [-50, -1, 0, 1, 5] → 0
    const five = [v(1, 0), v(100, -50), v(2, 5), v(4, 1), v(3, -1)]
    expect(Array.from(await trimmedMean(five, 0.2))).toEqual([3, 0])
    // trim 0.1: ⌊0.5⌋ = 0 cut, the plain mean: 110/5 = 22, -45/5 = -9
    expect(Array.from(await trimmedMean(five, 0.1))).toEqual([22, -9])
    // trim 0.45: ⌊2.25⌋ = 2 cut, the median
    expect(Array.from(await trimmedMean(five, 0.45))).toEqual([3, 0])
  })

  it("matches scipy's trim_mean, which Flower's FedTrimmedAvg follows", async () => {
    expect(Array.from(await trimmedMean(SIX, 0.2))).toEqual(near(NUMPY.trim6at02))
    expect(Array.from(await trimmedMean(SIX, 0.34))).toEqual(near(NUMPY.trim6at034))
    expect(Array.from(await trimmedMean(SIX.slice(0, 5), 0.2))).toEqual(near(NUMPY.trim5at02))
  })

  it('leaves out values that would overflow a plain mean', async () => {
    const values = [v(3e38), v(3e38), v(1), v(2), v(3), v(-3e38), v(0), v(4), v(5), v(6)]
    // n = 10, trim 0.2: two cut from each end, leaving 1 … 6: 21/6 = 3.5
    expect(Array.from(await trimmedMean(values, 0.2))).toEqual([3.5])
  })

  it('refuses no vectors and a trim that would cut everything', async () => {
    await expect(trimmedMean([], 0.1)).rejects.toThrow(RangeError)
    await expect(trimmedMean([v(1)], 0.5)).rejects.toThrow(/trim 0.5/)
    await expect(trimmedMean([v(1)], Number.NaN)).rejects.toThrow(RangeError)
  })
})
