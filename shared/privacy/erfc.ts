// The complementary error function in double precision, and its logarithm without underflow:
// the accountant's fractional orders need log erfc(x) far into the tail (x of 50 and more), where
// erfc itself is below the smallest double.

/** Below this, erfc = 1 − erf from erf's all-positive series; above, the continued fraction. */
const SERIES_BELOW = 2
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI)
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI)
const EPSILON = 2 ** -53
const MAX_TERMS = 500

/** erf(x) for 0 ≤ x < 2: (2/√π) e^(−x²) Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)); no cancellation. */
function erfSeries(x: number): number {
  const x2 = 2 * x * x
  let term = x
  let sum = x
  for (let n = 1; n < MAX_TERMS && term > sum * EPSILON; n++) {
    term *= x2 / (2 * n + 1)
    sum += term
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum
}

/**
 * x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))) for x ≥ 2, by the modified Lentz method; then
 * erfc(x) = e^(−x²) / (√π · this).
 */
function continuedFraction(x: number): number {
  const tiny = 1e-300
  let f = x
  let c = x
  let d = 0
  for (let n = 1; n < MAX_TERMS; n++) {
    const a = n / 2
    d = x + a * d
    d = 1 / (d === 0 ? tiny : d)
    c = x + a / c
    if (c === 0) c = tiny
    const step = c * d
    f *= step
    if (Math.abs(step - 1) < EPSILON) break
  }
  return f
}

/**
 * erfc(x) = 1 − erf(x): within 1e-15 relative of mpmath, except just below 2 where 1 − erf
 * cancels (4e-14 at 1.99).
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x < 0) return 2 - erfc(-x)
  if (x < SERIES_BELOW) return 1 - erfSeries(x)
  if (x === Infinity) return 0
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * continuedFraction(x))
}

/** log erfc(x), finite for every finite x (about −x² far in the tail), −∞ at +∞. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x < SERIES_BELOW) return Math.log(erfc(x))
  if (x === Infinity) return -Infinity
  return -x * x - LOG_SQRT_PI - Math.log(continuedFraction(x))
}
