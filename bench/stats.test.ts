import { describe, expect, it } from 'vitest'
import { median, range, ratios, summarise } from './stats.ts'

describe('median', () => {
  it('is the middle value of an odd count, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([9, 2, 7, 4, 100])).toBe(7)
  })
  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([10, 20])).toBe(15)
  })
  it('sorts numerically, not as strings', () => {
    expect(median([100, 9, 20])).toBe(20)
  })
  it('does not reorder its input', () => {
    const xs = [3, 1, 2]
    median(xs)
    expect(xs).toEqual([3, 1, 2])
  })
  it('refuses no values', () => {
    expect(() => median([])).toThrow()
  })
})

describe('pairing', () => {
  // The machine slows down and speeds up: each runtime epoch must be compared with the reference
  // epoch beside it, not with the reference's median nor with the reference sorted on its own.
  const pairs = [
    { reference: 100, runtime: 50 },
    { reference: 400, runtime: 200 },
    { reference: 200, runtime: 220 },
  ]

  it('takes each ratio from one pair, in order', () => {
    expect(ratios(pairs)).toEqual([0.5, 0.5, 1.1])
  })

  it('reports the median of the per-pair ratios, not the ratio of the medians', () => {
    const summary = summarise(pairs)
    expect(summary.runtime.median).toBe(200)
    expect(summary.reference!.median).toBe(200)
    // Ratio of medians: 1; pairing each side sorted on its own: median(0.5, 1, 0.55) = 0.55.
    expect(summary.ratio!.median).toBe(0.5)
  })

  it('reports the spread of each side and of the ratios', () => {
    const summary = summarise(pairs)
    expect(summary.runtime.range).toEqual([50, 220])
    expect(summary.reference!.range).toEqual([100, 400])
    expect(summary.ratio!.range).toEqual([0.5, 1.1])
    expect(range([3, -1, 2])).toEqual([-1, 3])
  })

  it('has no ratio where there is no reference', () => {
    const summary = summarise([
      { reference: null, runtime: 30 },
      { reference: null, runtime: 10 },
    ])
    expect(summary.runtime).toEqual({ median: 20, range: [10, 30] })
    expect(summary.reference).toBeNull()
    expect(summary.ratio).toBeNull()
  })
})
