import { afterEach, describe, expect, it, vi } from 'vitest'
import type { NamedTensor } from '../tensors/index.ts'
import { erfc } from './erfc.ts'
import { addGaussianNoise, createCryptoUniform, createStandardNormal } from './index.ts'

const zeros = (name: string, length: number): NamedTensor => ({
  name,
  shape: [length],
  dtype: 'float32',
  data: new Float32Array(length),
})

/** Φ(x), the standard normal CDF. */
const normalCdf = (x: number) => 0.5 * erfc(-x / Math.SQRT2)

/** A fixed cycle of uniforms, to check the transform by hand. */
const cycle = (values: number[]) => {
  let k = 0
  return () => values[k++ % values.length]!
}

describe('Gaussian noise', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  // 200,000 draws from the default (crypto) source. Bounds are 5 standard errors: a correct
  // sampler fails one of them about once in a million runs.
  const n = 200_000
  const std = 2.5
  const [noisy] = addGaussianNoise([zeros('w', n)], std)
  const draws = Float64Array.from(noisy!.data)

  it('has mean 0 and the standard deviation asked for (not its square, not its root)', () => {
    let sum = 0
    for (const x of draws) sum += x
    const mean = sum / n
    let squares = 0
    for (const x of draws) squares += (x - mean) ** 2
    const sampleStd = Math.sqrt(squares / (n - 1))
    expect(Math.abs(mean)).toBeLessThan((5 * std) / Math.sqrt(n)) // 0.028
    expect(Math.abs(sampleStd - std)).toBeLessThan((5 * std) / Math.sqrt(2 * n)) // 0.020
  })

  it('follows the normal CDF (Kolmogorov–Smirnov)', () => {
    const sorted = draws.map((x) => x / std).sort()
    let d = 0
    sorted.forEach((x, k) => {
      const cdf = normalCdf(x)
      d = Math.max(d, (k + 1) / n - cdf, cdf - k / n)
    })
    // P(√n·D > 2.6) ≈ 2e^(−2·2.6²) ≈ 3e-6 for a true normal.
    expect(Math.sqrt(n) * d).toBeLessThan(2.6)
    // And it is not uniform noise of the same spread: tails reach past 3σ on both sides.
    expect(sorted[0]!).toBeLessThan(-3)
    expect(sorted[n - 1]!).toBeGreaterThan(3)
  })

  it('is Box–Muller over the injected uniforms, scaled by the standard deviation', () => {
    // u₁ = e^(−1/2) gives radius 1; u₂ = 1/4 the angle π/2: the pair (cos, sin) = (0, 1).
    const normal = createStandardNormal(cycle([Math.exp(-0.5), 0.25]))
    expect(normal()).toBeCloseTo(0, 15)
    expect(normal()).toBeCloseTo(1, 15)
    const [out] = addGaussianNoise(
      [{ name: 'w', shape: [2], dtype: 'float32', data: Float32Array.from([10, 20]) }],
      3,
      cycle([Math.exp(-0.5), 0.5]), // angle π: (−1, 0)
    )
    expect(Array.from(out!.data)).toEqual([7, 20])
  })

  it('returns exact copies for std 0, drawing nothing', () => {
    const input = [
      { name: 'w', shape: [3], dtype: 'float32' as const, data: Float32Array.from([1, -2, 0.1]) },
    ]
    const [copy] = addGaussianNoise(input, 0, () => {
      throw new Error('drew a uniform')
    })
    expect(copy!.data).toEqual(input[0]!.data)
    expect(copy!.data).not.toBe(input[0]!.data)
    expect(copy!.shape).toEqual([3])
  })

  it('draws from crypto.getRandomValues by default, never Math.random', () => {
    const getRandomValues = vi.spyOn(globalThis.crypto, 'getRandomValues')
    const mathRandom = vi.spyOn(Math, 'random')
    addGaussianNoise([zeros('w', 10)], 1)
    expect(getRandomValues).toHaveBeenCalled()
    expect(mathRandom).not.toHaveBeenCalled()
  })

  it('crypto uniforms are in (0, 1) with 53 random bits, and refill past a batch', () => {
    const uniform = createCryptoUniform()
    let below = 0
    let fractionalBits = false
    for (let k = 0; k < 20_000; k++) {
      const u = uniform()
      expect(u > 0 && u < 1).toBe(true)
      if (u < 0.5) below++
      if ((u * 2 ** 32) % 1 !== 0) fractionalBits = true // more than 32 bits of resolution
    }
    expect(Math.abs(below - 10_000)).toBeLessThan(5 * Math.sqrt(5_000)) // 5 s.e.
    expect(fractionalBits).toBe(true)
  })

  it('refuses a negative or non-finite std, and a uniform source outside (0, 1)', () => {
    for (const bad of [-1, NaN, Infinity])
      expect(() => addGaussianNoise([zeros('w', 1)], bad)).toThrow(new RegExp(`^std ${bad} `))
    expect(() => addGaussianNoise([zeros('w', 1)], 1, () => 0)).toThrow(RangeError)
    expect(() => addGaussianNoise([zeros('w', 1)], 1, () => 1)).toThrow(/not a number in \(0, 1\)/)
  })
})
