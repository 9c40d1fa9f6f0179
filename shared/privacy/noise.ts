import type { NamedTensor } from '../tensors/index.ts'

/** Uniform doubles in the open interval (0, 1). */
export type UniformSource = () => number

/** Uniforms drawn per `crypto.getRandomValues` call: two 32-bit words each, 64 KiB (its limit). */
const BATCH = 8192
const TWO_POW_26 = 2 ** 26
const TWO_POW_53 = 2 ** 53

/**
 * Uniforms from the platform's cryptographic generator (WebCrypto, a global in browsers, workers
 * and Node), 53 random bits each: k/2⁵³ with k from 27 + 26 bits, redrawn when k = 0 so that
 * log(u) is finite. Math.random is not a secret source: the noise would be predictable.
 */
export function createCryptoUniform(): UniformSource {
  const words = new Uint32Array(2 * BATCH)
  let at = words.length
  return function cryptoUniform() {
    for (;;) {
      if (at === words.length) {
        crypto.getRandomValues(words)
        at = 0
      }
      const k = (words[at]! >>> 5) * TWO_POW_26 + (words[at + 1]! >>> 6)
      at += 2
      if (k !== 0) return k / TWO_POW_53
    }
  }
}

/**
 * Standard normals by Box–Muller, both of each pair used. A double-precision sampler is not
 * exactly the Gaussian the accountant analyses (its tails stop near 8.6σ, its values sit on a
 * grid); the gap is the usual one in DP-SGD libraries, far below the clipping and noise scales.
 */
export function createStandardNormal(uniform: UniformSource = createCryptoUniform()): () => number {
  let spare: number | null = null
  const draw = () => {
    const u = uniform()
    if (!(u > 0 && u < 1)) throw new RangeError(`uniform source gave ${u}, not a number in (0, 1)`)
    return u
  }
  return function standardNormal() {
    if (spare !== null) {
      const z = spare
      spare = null
      return z
    }
    const radius = Math.sqrt(-2 * Math.log(draw()))
    const angle = 2 * Math.PI * draw()
    spare = radius * Math.sin(angle)
    return radius * Math.cos(angle)
  }
}

/**
 * Adds N(0, std²) to every value, into new tensors. `std` is the noise's STANDARD DEVIATION (for
 * DP-FedAvg, noiseMultiplier · clipNorm, over the number of updates when averaged), not its
 * variance. std 0 returns exact copies.
 */
export function addGaussianNoise(
  tensors: readonly NamedTensor[],
  std: number,
  uniform?: UniformSource,
): NamedTensor[] {
  if (!(std >= 0) || !Number.isFinite(std))
    throw new RangeError(`std ${std} is not a finite non-negative standard deviation`)
  const normal = std === 0 ? null : createStandardNormal(uniform)
  return tensors.map((t) => {
    const data = new Float32Array(t.data)
    if (normal !== null) for (let k = 0; k < data.length; k++) data[k] = t.data[k]! + std * normal()
    return { name: t.name, shape: [...t.shape], dtype: t.dtype, data }
  })
}
