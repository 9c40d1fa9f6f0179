import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { decodeContainer, encodeContainer } from './container.ts'
import {
  applyDownload,
  baseWeights,
  DownloadMismatchError,
  deltaSeed,
  encodeDeltaModel,
  encodeFloat16Model,
  type ModelBase,
} from './model-encodings.ts'
import type { NamedTensor } from './named-tensor.ts'

const N = 'a'.repeat(64)
const X = 'b'.repeat(64)

function model(seed: number, sizes = [20000, 10]): NamedTensor[] {
  const random = mulberry32(seed)
  return sizes.map((n, i) => ({
    name: `layer${i}`,
    shape: [n],
    dtype: 'float32',
    data: Float32Array.from({ length: n }, () => (random() * 2 - 1) * 0.3),
  }))
}

/** A next model: the base moved a little, as a round of training moves it. */
const moved = (base: NamedTensor[], seed: number) => {
  const random = mulberry32(seed)
  return base.map((t) => ({ ...t, data: t.data.map((v) => v + (random() * 2 - 1) * 0.01) }))
}

const BLOCK = 256
/** The delta's stated bound for entry k: one int8 step of its block, plus float32 rounding. */
function withinBound(got: NamedTensor[], truth: NamedTensor[], held: readonly NamedTensor[]) {
  return got.every((t, i) =>
    t.data.every((v, k) => {
      const start = k - (k % BLOCK)
      let max = 0
      for (let j = start; j < Math.min(start + BLOCK, t.data.length); j++)
        max = Math.max(max, Math.abs(truth[i]!.data[j]! - held[i]!.data[j]!))
      const truthValue = truth[i]!.data[k]!
      return (
        Math.abs(v - truthValue) <=
        (max / 127) * (1 + 2 ** -20) + 4 * 2 ** -23 * Math.abs(truthValue)
      )
    }),
  )
}

describe('model download encodings', () => {
  it('float16: names the model, within a half’s rounding of it, 2 bytes an entry', () => {
    const m = model(1)
    const bytes = encodeFloat16Model(m, N)
    expect(bytes.length).toBeLessThan(0.52 * encodeContainer({ tensors: m }).length)
    const { encoding, weights } = applyDownload(bytes, N)
    expect(encoding).toBe('float16')
    weights.forEach((t, i) =>
      t.data.forEach((v, k) =>
        expect(Math.abs(v - m[i]!.data[k]!)).toBeLessThanOrEqual(
          2 ** -11 * Math.abs(m[i]!.data[k]!) + 2 ** -25,
        ),
      ),
    )
    expect(weights).toEqual(baseWeights(m, 'float16'))
    expect(() => applyDownload(bytes, X)).toThrow(DownloadMismatchError)
  })

  for (const encoding of ['float32', 'float16'] as const)
    it(`delta from a ${encoding} base: within one int8 step of the model, about a quarter of float32`, () => {
      const held = baseWeights(model(2), encoding)
      const next = moved(model(2), 3)
      const ref: ModelBase = { hash: X, encoding }
      const bytes = encodeDeltaModel({ model: next, hash: N }, { weights: held, ref })
      expect(bytes.length).toBeLessThan(0.27 * encodeContainer({ tensors: next }).length)
      // Deterministic: the same pair gives the same bytes.
      expect(encodeDeltaModel({ model: next, hash: N }, { weights: held, ref })).toEqual(bytes)
      expect(decodeContainer(bytes).metadata).toEqual({
        encoding: 'delta',
        model: N,
        base: X,
        baseEncoding: encoding,
      })
      const { weights } = applyDownload(bytes, N, { weights: held, ref })
      expect(withinBound(weights, next, held)).toBe(true)
      // Applied to anything but the base it names, it is refused.
      expect(() => applyDownload(bytes, N, { weights: held, ref: { hash: N, encoding } })).toThrow(
        DownloadMismatchError,
      )
      const other = encoding === 'float32' ? 'float16' : 'float32'
      expect(() =>
        applyDownload(bytes, N, { weights: held, ref: { hash: X, encoding: other } }),
      ).toThrow(DownloadMismatchError)
      expect(() => applyDownload(bytes, N)).toThrow(DownloadMismatchError)
    })

  it('the bound is tight enough to fail: a delta applied to the unrounded model is off by more', () => {
    const exact = model(4)
    const held = baseWeights(exact, 'float16')
    const next = moved(exact, 5)
    const ref: ModelBase = { hash: X, encoding: 'float16' }
    const bytes = encodeDeltaModel({ model: next, hash: N }, { weights: held, ref })
    // A phone that adds the delta to weights other than those the server subtracted drifts.
    const wrong = applyDownload(bytes, N, { weights: exact, ref }).weights
    expect(withinBound(wrong, next, held)).toBe(false)
  })

  it('refuses a delta of another layout, and a model that is not what it says', () => {
    const held = model(6)
    const ref: ModelBase = { hash: X, encoding: 'float32' }
    expect(() =>
      encodeDeltaModel({ model: model(6, [20000]), hash: N }, { weights: held, ref }),
    ).toThrow('base')
    const bytes = encodeDeltaModel({ model: moved(held, 7), hash: N }, { weights: held, ref })
    expect(() => applyDownload(bytes, N, { weights: model(6, [20000, 11]), ref })).toThrow('layout')
    const plain = encodeContainer({ tensors: held, metadata: { model: N } })
    expect(() => applyDownload(plain, N)).toThrow(DownloadMismatchError)
  })

  it('seeds a delta from both hashes, a uint32', () => {
    expect(deltaSeed(N, X)).toBe((0xaaaaaaaa ^ 0xbbbbbbbb) >>> 0)
    expect(deltaSeed('f'.repeat(64), '0'.repeat(64))).toBe(2 ** 32 - 1)
  })
})
