import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/index.ts'
import type { NamedTensor } from '../tensors/index.ts'
import { clipToNorm, l2Norm } from './index.ts'

const t = (name: string, values: number[], shape = [values.length]): NamedTensor => ({
  name,
  shape,
  dtype: 'float32',
  data: Float32Array.from(values),
})

describe('clipping an update to an L2 norm', () => {
  it('measures the norm across all tensors', () => {
    expect(l2Norm([t('a', [3]), t('b', [0, 4], [1, 2])])).toBe(5)
    expect(l2Norm([])).toBe(0)
    expect(l2Norm([t('a', [NaN])])).toBeNaN()
  })

  it('scales an update over the norm down to it, into new arrays, leaving the input alone', () => {
    const input = [t('a', [3]), t('b', [0, 4], [1, 2])]
    const { tensors, norm, clipped } = clipToNorm(input, 1)
    expect(norm).toBe(5)
    expect(clipped).toBe(true)
    expect(Array.from(tensors[0]!.data)).toEqual([expect.closeTo(0.6, 6)])
    expect(Array.from(tensors[1]!.data)).toEqual([0, expect.closeTo(0.8, 6)])
    expect(tensors.map((x) => [x.name, x.shape, x.dtype])).toEqual([
      ['a', [1], 'float32'],
      ['b', [1, 2], 'float32'],
    ])
    expect(tensors[1]!.shape).not.toBe(input[1]!.shape)
    expect(Array.from(input[0]!.data)).toEqual([3])
    expect(Array.from(input[1]!.data)).toEqual([0, 4])
  })

  it('copies an update within the norm unchanged, and a zero update stays zero', () => {
    const input = [t('a', [0.3, -0.4])]
    const within = clipToNorm(input, 1)
    expect(within.clipped).toBe(false)
    expect(within.norm).toBeCloseTo(0.5, 7)
    expect(within.tensors[0]!.data).toEqual(input[0]!.data)
    expect(within.tensors[0]!.data).not.toBe(input[0]!.data)
    const zero = clipToNorm([t('a', [0, 0, 0])], 0.1)
    expect(zero).toMatchObject({ norm: 0, clipped: false })
    expect(Array.from(zero.tensors[0]!.data)).toEqual([0, 0, 0])
  })

  it('never leaves a clipped norm above C after rounding to float32', () => {
    const random = mulberry32(7)
    for (let trial = 0; trial < 50; trial++) {
      const values = Array.from({ length: 1000 }, () => (random() - 0.5) * 10 ** (trial % 7))
      const clipNorm = 0.1 + random() * 3
      const { tensors, clipped } = clipToNorm([t('w', values)], clipNorm)
      expect(clipped).toBe(true)
      const after = l2Norm(tensors)
      expect(after).toBeLessThanOrEqual(clipNorm)
      expect(after).toBeGreaterThan(clipNorm * (1 - 1e-6))
    }
  })

  it('refuses NaN or Infinity in the update, and a clip norm that is not finite and positive', () => {
    expect(() => clipToNorm([t('a', [1, NaN])], 1)).toThrow(RangeError)
    expect(() => clipToNorm([t('a', [1, NaN])], 1)).toThrow(/NaN or Infinity/)
    expect(() => clipToNorm([t('a', [-Infinity])], 1)).toThrow(/NaN or Infinity/)
    for (const bad of [0, -1, NaN, Infinity])
      expect(() => clipToNorm([t('a', [1])], bad)).toThrow(new RegExp(`^clipNorm ${bad} `))
  })
})
