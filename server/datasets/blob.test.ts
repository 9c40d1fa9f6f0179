import { describe, expect, it } from 'vitest'
import { classHistogram, decodeHeldOut, encodeHeldOut } from './blob.ts'

describe('held-out blob', () => {
  it('round-trips image bytes of any shape, labels unaligned', () => {
    const e = {
      count: 3,
      shape: [2, 2, 3],
      features: Uint8Array.from({ length: 36 }, (_, i) => (i * 7) % 256),
      labels: Uint8Array.from([2, 0, 1]),
    }
    const blob = encodeHeldOut(e)
    expect(new TextDecoder().decode(blob.subarray(0, 4))).toBe('PLHO')
    expect(decodeHeldOut(blob)).toEqual(e)
  })

  it('round-trips tabular float32 values exactly', () => {
    const e = {
      count: 2,
      shape: [3],
      features: Float32Array.from([0.1, -2.5, 1e-7, 3.4e38, -0, 42]),
      labels: Uint8Array.from([1, 0]),
    }
    const back = decodeHeldOut(encodeHeldOut(e))
    expect(back.features).toBeInstanceOf(Float32Array)
    expect(back).toEqual(e)
  })

  it('refuses a blob cut short, grown, or of another kind', () => {
    const blob = encodeHeldOut({
      count: 1,
      shape: [4],
      features: new Uint8Array(4),
      labels: new Uint8Array(1),
    })
    expect(() => decodeHeldOut(blob.subarray(0, blob.length - 1))).toThrow(/wrong length/)
    expect(() => decodeHeldOut(Uint8Array.from([...blob, 0]))).toThrow(/wrong length/)
    expect(() => decodeHeldOut(new TextEncoder().encode('PLNT0000000000000000'))).toThrow(/header/)
    expect(() => decodeHeldOut(blob.subarray(0, 5))).toThrow(/header/)
  })

  it('refuses features that do not fill the shape', () => {
    expect(() =>
      encodeHeldOut({
        count: 2,
        shape: [3],
        features: new Uint8Array(5),
        labels: new Uint8Array(2),
      }),
    ).toThrow(RangeError)
  })

  it('counts examples per class', () => {
    expect(classHistogram(Uint8Array.from([0, 2, 2]), 4)).toEqual([1, 0, 2, 0])
  })
})
