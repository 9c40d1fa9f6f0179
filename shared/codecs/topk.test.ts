import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { decodeTopK, encodeTopK, residualAfterAbsence } from './topk.ts'

const randomValues = (length: number, seed: number) => {
  const random = mulberry32(seed)
  return Float32Array.from({ length }, () => random() * 2 - 1)
}

const squareNorm = (values: ArrayLike<number>) => Array.from(values).reduce((s, x) => s + x * x, 0)

/**
 * The toy problem: f(w) = ½‖w − w*‖² over 50 coordinates, trained by two phones whose data
 * disagree on coordinate 0 (non-IID): their gradients are ∇f ± σ·e₀, so their mean is ∇f. Each
 * uploads −rate × its gradient through top-1; the server adds the mean of what it decodes. On
 * every phone coordinate 0 is the largest entry, so plain top-k sends only it, the two cancel,
 * and the 49 coordinates that matter never move; error feedback sends them once their residual
 * grows past it. Returns ‖w − w*‖ after `rounds`.
 */
function descend(errorFeedback: boolean, rounds = 1000): number {
  const n = 50
  const rate = 0.01
  const disagreement = 3
  const optimum = Float32Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 1))
  const w = new Float32Array(n)
  const residuals: (Float32Array | null)[] = [null, null]
  for (let round = 0; round < rounds; round++) {
    const step = new Float32Array(n)
    for (const [phone, sign] of [
      [0, -1],
      [1, 1],
    ] as const) {
      const delta = Float32Array.from(w, (x, i) => -rate * (x - optimum[i]!))
      delta[0]! -= rate * sign * disagreement
      const { bytes, residual } = encodeTopK(delta, residuals[phone]!, 1)
      residuals[phone] = errorFeedback ? residual : null
      decodeTopK(bytes, n).forEach((x, i) => (step[i]! += x / 2))
    }
    step.forEach((x, i) => (w[i]! += x))
  }
  return Math.sqrt(squareNorm(w.map((x, i) => x - optimum[i]!)))
}

describe('top-k with error feedback', () => {
  it('sends the k largest entries of delta + residual exactly, indices ascending', () => {
    const delta = randomValues(1000, 1)
    const old = randomValues(1000, 2).map((x) => x / 10)
    delta[3] = 5 // ties at the threshold: the lower index goes first
    delta[7] = -5
    delta[9] = 5
    const { bytes } = encodeTopK(delta, old, 2)
    const view = new DataView(bytes.buffer)
    expect(bytes.length).toBe(16)
    expect([view.getUint32(0, true), view.getUint32(4, true)]).toEqual([3, 7])

    const k = 37
    const sum = delta.map((x, i) => x + old[i]!)
    const decoded = decodeTopK(encodeTopK(delta, old, k).bytes, 1000)
    const largest = Array.from(sum.keys())
      .sort((a, b) => Math.abs(sum[b]!) - Math.abs(sum[a]!) || a - b)
      .slice(0, k)
      .sort((a, b) => a - b)
    const sent = Array.from(decoded.keys()).filter((i) => decoded[i] !== 0)
    expect(sent).toEqual(largest)
    for (const i of largest) expect(decoded[i]).toBe(sum[i])
  })

  it('keeps what it drops: residual + decoded = delta + old residual, inputs unchanged', () => {
    const delta = randomValues(4096, 3)
    const old = randomValues(4096, 4)
    const [deltaBefore, oldBefore] = [Float32Array.from(delta), Float32Array.from(old)]
    const { bytes, residual } = encodeTopK(delta, old, 100)
    const decoded = decodeTopK(bytes, 4096)
    const sum = delta.map((x, i) => x + old[i]!)
    expect(Array.from(residual, (r, i) => r + decoded[i]!)).toEqual(Array.from(sum))
    expect(Array.from(decoded, (x, i) => x === 0 || residual[i] === 0).every(Boolean)).toBe(true)
    expect(delta).toEqual(deltaBefore)
    expect(old).toEqual(oldBefore)
    expect(squareNorm(residual)).toBeLessThanOrEqual((1 - 100 / 4096) * squareNorm(sum))
  })

  it('converges on a toy problem where plain top-k stalls', () => {
    const start = Math.sqrt(49) // ‖0 − w*‖
    expect(descend(false)).toBeGreaterThan(0.99 * start)
    expect(descend(true)).toBeLessThan(0.02 * start)
  })

  it('sends everything at k = n and nothing at k = 0', () => {
    const delta = randomValues(10, 5)
    const all = encodeTopK(delta, null, 10)
    expect(decodeTopK(all.bytes, 10)).toEqual(delta)
    expect(all.residual.every((x) => x === 0)).toBe(true)
    const none = encodeTopK(delta, null, 0)
    expect(none.bytes.length).toBe(0)
    expect(none.residual).toEqual(delta)
  })

  it('keeps a residual up to maxRoundsBehind rounds behind, then drops it', () => {
    const residual = new Float32Array(3)
    expect(residualAfterAbsence(residual, 1)).toBe(residual)
    expect(residualAfterAbsence(residual, 10)).toBe(residual)
    expect(residualAfterAbsence(residual, 11)).toBeNull()
    expect(residualAfterAbsence(residual, 3, 2)).toBeNull()
    expect(() => residualAfterAbsence(residual, 0)).toThrow(/^roundsBehind: /)
    expect(() => residualAfterAbsence(residual, 1, 0)).toThrow(/^maxRoundsBehind: /)
  })

  it('refuses bad input naming the parameter', () => {
    const delta = new Float32Array(4)
    expect(() => encodeTopK(delta, new Float32Array(3), 1)).toThrow(/^residual: holds 3 entries/)
    expect(() => encodeTopK(delta, null, 5)).toThrow(/^k: /)
    expect(() => encodeTopK(delta, null, 1.5)).toThrow(/^k: /)
    expect(() => encodeTopK(Float32Array.from([0, NaN]), null, 1)).toThrow(/^delta\.1: is NaN/)
    expect(() => encodeTopK(delta, Float32Array.from([0, 0, Infinity, 0]), 1)).toThrow(
      /^residual\.2: /,
    )
    const big = Float32Array.from([3e38])
    expect(() => encodeTopK(big, big, 1)).toThrow(/^delta\.0: plus the residual overflows/)
    expect(() => decodeTopK(new Uint8Array(12), 4)).toThrow(/^bytes: holds 12 bytes/)
    expect(() => decodeTopK(new Uint8Array(40), 4)).toThrow(/^bytes: /)
    const pairs = (indices: number[]) => {
      const bytes = new Uint8Array(8 * indices.length)
      indices.forEach((index, j) => new DataView(bytes.buffer).setUint32(4 * j, index, true))
      return bytes
    }
    expect(() => decodeTopK(pairs([2, 2]), 4)).toThrow(/^bytes\.indices\.1: is 2/)
    expect(() => decodeTopK(pairs([3, 1]), 4)).toThrow(/^bytes\.indices\.1: is 1/)
    expect(() => decodeTopK(pairs([4]), 4)).toThrow(/^bytes\.indices\.0: is 4/)
  })
})
