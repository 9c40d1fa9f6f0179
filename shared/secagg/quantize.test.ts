import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { dequantizeSum, quantizationError, quantize, scaleFor } from './quantize.ts'

describe('quantize', () => {
  it('scaleFor leaves room for every participant at the top of the range', () => {
    expect(scaleFor(1, 1)).toBe(Math.floor((2 ** 32 - 1) / 2))
    expect(scaleFor(500, 1)).toBe(4294967)
    expect(scaleFor(500, 1e9)).toBe(1)
    for (const [n, range] of [
      [3, 0.5],
      [100, 1],
      [500, 10],
    ] as const) {
      const scale = scaleFor(n, range)
      const top = quantize([range], range, scale)[0]!
      expect(n * top).toBeLessThanOrEqual(2 ** 32 - 1)
    }
  })

  it('clamps to [−range, range]', () => {
    const scale = scaleFor(10, 2)
    const q = quantize([-5, -2, 0, 2, 7, -Infinity, Infinity], 2, scale)
    expect([...q]).toEqual([0, 0, 2 * scale, 4 * scale, 4 * scale, 0, 4 * scale])
  })

  it('refuses NaN, naming the entry', () => {
    expect(() => quantize([0, NaN], 1, 10)).toThrow(expect.objectContaining({ field: 'values.1' }))
  })

  it('a dequantized sum is within count/(2·scale) of the real sum, and the bound is tight-ish', () => {
    const random = mulberry32(3)
    for (const [n, range] of [
      [2, 1],
      [40, 1],
      [500, 0.25],
    ] as const) {
      const scale = scaleFor(n, range)
      const length = 2000
      const real = new Float64Array(length)
      const sum = new Uint32Array(length)
      for (let p = 0; p < n; p++) {
        const values = Float32Array.from({ length }, () => (random() * 2 - 1) * range)
        values.forEach((x, i) => (real[i]! += x))
        quantize(values, range, scale).forEach((q, i) => (sum[i]! += q))
      }
      const out = dequantizeSum(sum, n, range, scale)
      const bound = quantizationError(n, scale)
      let worst = 0
      for (let i = 0; i < length; i++) worst = Math.max(worst, Math.abs(out[i]! - real[i]!))
      expect(worst).toBeLessThanOrEqual(bound * (1 + 1e-9))
      // Random roundings mostly cancel; the worst entry still uses a visible part of the bound.
      expect(worst).toBeGreaterThan(bound / (4 * Math.sqrt(n)))
    }
  })
})
