import { invalid } from './errors.ts'
import { MAX_HOLDERS } from './constants.ts'

/**
 * Shamir secret sharing over GF(2^8), byte by byte: each byte of the secret is the constant term
 * of its own random polynomial of degree threshold − 1. A share is the holder's x-coordinate (a
 * non-zero byte) followed by the polynomials' values there, so it is one byte longer than the
 * secret. Any `threshold` shares give the secret back; fewer say nothing about it.
 */

// The AES field: polynomials modulo x^8 + x^4 + x^3 + x + 1, where 3 generates every non-zero
// element, so multiplication is an addition of logarithms.
const EXP = new Uint8Array(510)
const LOG = new Uint8Array(256)
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = EXP[i + 255] = x
  LOG[x] = i
  x ^= ((x << 1) ^ (x & 0x80 ? 0x11b : 0)) & 0xff // x · 3 = x · 2 + x
}

export const gfMul = (a: number, b: number): number =>
  a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!
const gfDiv = (a: number, b: number): number => (a === 0 ? 0 : EXP[LOG[a]! + 255 - LOG[b]!]!)

function checkXs(xs: readonly number[], field: string): void {
  if (xs.length > MAX_HOLDERS) throw invalid(field, `at most ${MAX_HOLDERS} holders`)
  const seen = new Set<number>()
  for (const [i, x] of xs.entries()) {
    if (!Number.isInteger(x) || x < 1 || x > 255)
      throw invalid(`${field}.${i}`, `x-coordinate ${x} is not in 1..255 (0 is the secret)`)
    if (seen.has(x)) throw invalid(`${field}.${i}`, `x-coordinate ${x} twice`)
    seen.add(x)
  }
}

/** One share for each x in `xs` (distinct, 1..255); any `threshold` of them rebuild `secret`. */
export function split(secret: Uint8Array, threshold: number, xs: readonly number[]): Uint8Array[] {
  if (secret.length === 0) throw invalid('secret', 'empty')
  checkXs(xs, 'xs')
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length)
    throw invalid('threshold', `must be a whole number from 1 to ${xs.length} (the holders)`)
  // coefficients[c · L + j]: the coefficient of x^(c+1) in byte j's polynomial.
  const L = secret.length
  const coefficients = new Uint8Array((threshold - 1) * L)
  for (let o = 0; o < coefficients.length; o += 65536)
    crypto.getRandomValues(coefficients.subarray(o, o + 65536))
  return xs.map((x) => {
    const share = new Uint8Array(1 + L)
    share[0] = x
    for (let j = 0; j < L; j++) {
      let y = 0
      for (let c = threshold - 2; c >= 0; c--) y = gfMul(y, x) ^ coefficients[c * L + j]!
      share[1 + j] = gfMul(y, x) ^ secret[j]!
    }
    return share
  })
}

/**
 * The secret behind `shares` (Lagrange interpolation at 0). Give it at least the threshold's
 * number of shares from one split: fewer, or shares of different secrets, give a wrong secret,
 * which nothing here can detect.
 */
export function combine(shares: readonly Uint8Array[]): Uint8Array {
  const [first] = shares
  if (first === undefined) throw invalid('shares', 'no shares')
  if (first.length < 2) throw invalid('shares.0', 'a share is an x-coordinate and at least a byte')
  for (const [i, share] of shares.entries())
    if (share.length !== first.length)
      throw invalid(`shares.${i}`, `${share.length} bytes, the first share has ${first.length}`)
  const xs = shares.map((share) => share[0]!)
  checkXs(xs, 'shares')
  const secret = new Uint8Array(first.length - 1)
  for (const [i, share] of shares.entries()) {
    // The Lagrange basis polynomial for x_i, at 0: ∏ x_j / (x_j − x_i), and − is ^ here.
    let basis = 1
    for (const [j, xj] of xs.entries()) if (j !== i) basis = gfMul(basis, gfDiv(xj, xj ^ xs[i]!))
    for (let b = 0; b < secret.length; b++) secret[b]! ^= gfMul(share[1 + b]!, basis)
  }
  return secret
}
