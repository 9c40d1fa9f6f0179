import { describe, expect, it } from 'vitest'
import { tensor as t } from './fixtures.ts'
import { allFinite, applyDelta, createWeightedMean } from './index.ts'

describe('weighted mean of deltas (FedAvg)', () => {
  it('matches a hand-computed example-weighted average', () => {
    // Three clients with 10, 30 and 60 examples.
    // a: (10·1 + 30·2 + 60·4) / 100 = 3.1 ; (10·-1 + 30·0 + 60·0.5) / 100 = 0.2
    // b: (10·10 + 30·0 + 60·-5) / 100 = -2
    const mean = createWeightedMean([
      { name: 'a', shape: [2] },
      { name: 'b', shape: [1] },
    ])
    mean.add([t('a', [1, -1]), t('b', [10])], 10)
    mean.add([t('b', [0]), t('a', [2, 0])], 30)
    mean.add([t('a', [4, 0.5]), t('b', [-5])], 60)
    expect(mean.count).toBe(3)
    expect(mean.totalWeight).toBe(100)
    const [a, b] = mean.mean()!
    expect(Array.from(a!.data)).toEqual([expect.closeTo(3.1, 6), expect.closeTo(0.2, 6)])
    expect(Array.from(b!.data)).toEqual([expect.closeTo(-2, 6)])
  })

  it('applies the mean delta to the global weights', () => {
    const next = applyDelta([t('a', [1, 1])], [t('a', [0.5, -2])])
    expect(Array.from(next[0]!.data)).toEqual([1.5, -1])
  })

  it('is empty until something is added, and refuses mismatched tensors', () => {
    const mean = createWeightedMean([{ name: 'a', shape: [2] }])
    expect(mean.mean()).toBeNull()
    expect(() => mean.add([t('a', [1, 2, 3])], 1)).toThrow(/does not match/)
    expect(() => mean.add([t('z', [1, 2])], 1)).toThrow(/does not match/)
    expect(() => mean.add([t('a', [1, 2])], 0)).toThrow(/not positive/)
    expect(() => mean.add([t('a', [1, 2])], NaN)).toThrow(/not positive/)
    expect(() => mean.add([t('a', [1, NaN])], 1)).toThrow(/NaN or Infinity/)
    expect(mean.count).toBe(0)
  })

  it('finds NaN and Infinity', () => {
    expect(allFinite([t('a', [1, 2])])).toBe(true)
    expect(allFinite([t('a', [1, NaN])])).toBe(false)
    expect(allFinite([t('a', [Infinity])])).toBe(false)
    // The largest and smallest float32 values, -0 and subnormals are finite; a bad value in a
    // later tensor, after good ones, is still found.
    const max = 3.4028234663852886e38
    const edges = [max, -max, -0, 1.4e-45, -1.4e-45, 1.17549435e-38]
    expect(allFinite([t('a', edges), t('b', edges)])).toBe(true)
    expect(allFinite([t('a', edges), t('b', [...edges, -Infinity])])).toBe(false)
    expect(allFinite([t('a', []), t('b', [NaN, 1])])).toBe(false)
  })
})
