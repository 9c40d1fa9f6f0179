import { logErfc } from './erfc.ts'

/**
 * Rényi DP of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Rényi Differential
 * Privacy of the Sampled Gaussian Mechanism", §3.3), computed as Opacus's
 * `accountants/analysis/rdp.py` and TF Privacy's `rdp_accountant.py` do: each round includes each
 * device with probability q and adds N(0, σ²C²) to the sum of updates clipped to norm C. RDP adds
 * up over rounds; (ε, δ) is read off the total at the best order.
 */

/**
 * Opacus's default orders (`RDPAccountant.DEFAULT_ALPHAS`): 1.1, 1.2, …, 10.9, then 12 … 63.
 * dp_accounting's `DEFAULT_RDP_ORDERS` adds 11 and 128, 256, 512, 1024, which only help when ε is
 * far below 1.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => 1 + (k + 1) / 10),
  ...Array.from({ length: 52 }, (_, k) => 12 + k),
])

/**
 * `balle2020`: ε = rdp − (log δ + log α)/(α − 1) + log((α − 1)/α) (Balle et al. 2020,
 * "Hypothesis Testing Interpretations and Renyi Differential Privacy", Thm 21), what Opacus and
 * dp_accounting use today. `mironov2017`: ε = rdp − log δ/(α − 1) (Mironov 2017, Prop. 3), what
 * TF Privacy used until 2020: larger, kept to check figures published with it.
 */
export type EpsilonConversion = 'balle2020' | 'mironov2017'

export interface EpsilonOptions {
  conversion?: EpsilonConversion | undefined
}

/** An (ε, δ) guarantee's ε and the order that gave it. */
export interface PrivacySpent {
  epsilon: number
  /** The order the minimum was found at; NaN when no order gave a number. */
  order: number
}

// ---------------------------------------------------------------------------------------------
// Validation: every RangeError names the argument.

function checkQ(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q ${q} is not a sampling rate in [0, 1]`)
}

function checkSigma(sigma: number): void {
  if (!(sigma >= 0) || !Number.isFinite(sigma))
    throw new RangeError(`sigma ${sigma} is not a finite non-negative noise multiplier`)
}

function checkSteps(steps: number): void {
  if (!Number.isSafeInteger(steps) || steps < 0)
    throw new RangeError(`steps ${steps} is not a whole number ≥ 0`)
}

function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta ${delta} is not in (0, 1)`)
}

function checkOrders(orders: readonly number[]): void {
  if (orders.length === 0) throw new RangeError('orders is empty')
  for (const order of orders)
    if (!(order > 1)) throw new RangeError(`orders: ${order} is not a Rényi order above 1`)
}

// ---------------------------------------------------------------------------------------------
// Log-space arithmetic: A_α overflows doubles long before its logarithm does.

/** log(eˣ + eʸ). */
function logAdd(x: number, y: number): number {
  const hi = Math.max(x, y)
  const lo = Math.min(x, y)
  if (lo === -Infinity) return hi
  return hi + Math.log1p(Math.exp(lo - hi))
}

/** A signed number as (sign, log |value|); zero is log = −∞. */
interface SignedLog {
  sign: 1 | -1
  log: number
}

/** a + (sign)·e^log, without leaving log space; terms of the fractional series alternate. */
function addSigned(a: SignedLog, sign: 1 | -1, log: number): SignedLog {
  if (log === -Infinity) return a
  if (a.log === -Infinity) return { sign, log }
  if (a.sign === sign) return { sign, log: logAdd(a.log, log) }
  if (a.log === log) return { sign: 1, log: -Infinity }
  const [big, small, bigSign] = a.log > log ? [a.log, log, a.sign] : [log, a.log, sign]
  return { sign: bigSign, log: big + Math.log1p(-Math.exp(small - big)) }
}

// ---------------------------------------------------------------------------------------------
// log A_α, where RDP_α = log A_α / (α − 1) and A_α = E_{z∼μ₀}[(μ(z)/μ₀(z))^α] for
// μ₀ = N(0, σ²), μ = (1 − q)μ₀ + q N(1, σ²).

/** Integer α: A_α = Σᵢ C(α, i) qⁱ (1 − q)^(α−i) exp((i² − i)/(2σ²)), summed in log space. */
function logAInt(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoSigma2 = 2 * sigma * sigma
  let logA = -Infinity
  let logBinom = 0 // log C(α, i), built up term by term: no log-gamma in JavaScript
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i)
    logA = logAdd(logA, logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoSigma2)
  }
  return logA
}

/** dp_accounting gives up after this many terms and leaves the order out (RDP ∞). */
const MAX_FRACTIONAL_TERMS = 1000

/**
 * Fractional α: the integral split at z₀ = σ² log(1/q − 1) + 1/2, where μ/μ₀ crosses 1, each
 * side a binomial series whose terms carry erfc tails (Mironov et al. §3.3). C(α, i) turns
 * negative past i = α + 1 and alternates; those terms are subtracted, as in Opacus. (dp_accounting
 * adds |C(α, i)| instead, an upper bound: 3% above the exact value at α = 1.5, q = 0.01, σ = 2.5.)
 */
function logAFrac(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoSigma2 = 2 * sigma * sigma
  const z0 = sigma * sigma * Math.log((1 - q) / q) + 0.5
  const sqrt2Sigma = Math.SQRT2 * sigma
  let a0: SignedLog = { sign: 1, log: -Infinity }
  let a1: SignedLog = { sign: 1, log: -Infinity }
  let binomSign: 1 | -1 = 1
  let logBinom = 0
  let lastS0 = -Infinity
  let lastS1 = -Infinity
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i
      if (ratio < 0) binomSign = binomSign === 1 ? -1 : 1
      logBinom += Math.log(Math.abs(ratio))
    }
    const j = alpha - i
    const logT0 = logBinom + i * logQ + j * log1mQ
    const logT1 = logBinom + j * logQ + i * log1mQ
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sqrt2Sigma)
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sqrt2Sigma)
    const s0 = logT0 + (i * i - i) / twoSigma2 + logE0
    const s1 = logT1 + (j * j - j) / twoSigma2 + logE1
    a0 = addSigned(a0, binomSign, s0)
    a1 = addSigned(a1, binomSign, s1)
    const total = addSigned(a0, a1.sign, a1.log)
    // Stop once both tails shrink and are e^-30 below the sum (dp_accounting's rule).
    if (s0 < lastS0 && s1 < lastS1 && Math.max(s0, s1) < total.log - 30)
      return total.sign === 1 ? total.log : Infinity
    lastS0 = s0
    lastS1 = s1
  }
  return Infinity
}

/** RDP of one round at one order; ∞ where there is no bound. */
function rdpOne(q: number, sigma: number, order: number): number {
  if (q === 0) return 0
  if (sigma === 0) return Infinity
  if (q === 1) return order / (2 * sigma * sigma)
  if (order === Infinity) return Infinity
  const logA = Number.isInteger(order) ? logAInt(q, sigma, order) : logAFrac(q, sigma, order)
  // A_α ≥ 1 in exact arithmetic; rounding may leave log A a hair below 0.
  return Math.max(0, logA / (order - 1))
}

/**
 * The RDP of one round of the sampled Gaussian mechanism at each order: sampling rate q, noise
 * multiplier σ (the noise's standard deviation over the clip norm). q = 0 gives 0, q = 1 the plain
 * Gaussian α/(2σ²), σ = 0 gives ∞.
 */
export function rdpSampledGaussian(
  q: number,
  sigma: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  checkQ(q)
  checkSigma(sigma)
  checkOrders(orders)
  return orders.map((order) => rdpOne(q, sigma, order))
}

/**
 * The smallest ε over the orders for which the RDP curve gives (ε, δ)-DP; orders where the
 * conversion is NaN are left out. With `balle2020`, an RDP so small that KL alone bounds δ
 * (δ² > 1 − e^−rdp) gives ε = 0, and ε is never below 0, as in dp_accounting.
 */
export function epsilonFromRdp(
  rdp: readonly number[],
  orders: readonly number[],
  delta: number,
  { conversion = 'balle2020' }: EpsilonOptions = {},
): PrivacySpent {
  checkOrders(orders)
  checkDelta(delta)
  if (rdp.length !== orders.length)
    throw new RangeError(`rdp has ${rdp.length} values for ${orders.length} orders`)
  const logDelta = Math.log(delta)
  let best: PrivacySpent = { epsilon: Infinity, order: NaN }
  for (let k = 0; k < orders.length; k++) {
    const order = orders[k]!
    const r = rdp[k]!
    if (!(r >= 0)) throw new RangeError(`rdp ${r} at order ${order} is not a number ≥ 0`)
    let epsilon: number
    if (conversion === 'mironov2017') epsilon = r - logDelta / (order - 1)
    else if (delta * delta + Math.expm1(-r) > 0) epsilon = 0
    else epsilon = r - (logDelta + Math.log(order)) / (order - 1) + Math.log((order - 1) / order)
    if (Number.isNaN(epsilon)) continue
    if (Number.isNaN(best.order) || epsilon < best.epsilon) best = { epsilon, order }
  }
  return { epsilon: Math.max(0, best.epsilon), order: best.order }
}

export interface ComputeEpsilonInput extends EpsilonOptions {
  q: number
  sigma: number
  steps: number
  delta: number
  orders?: readonly number[]
}

/** ε after `steps` rounds that all sample at rate q with noise multiplier σ. */
export function computeEpsilon({
  q,
  sigma,
  steps,
  delta,
  orders = DEFAULT_ORDERS,
  conversion,
}: ComputeEpsilonInput): PrivacySpent {
  checkSteps(steps)
  checkDelta(delta)
  const perStep = rdpSampledGaussian(q, sigma, orders)
  // 0 steps spend nothing, even with σ = 0 (where ∞·0 would be NaN).
  const rdp = perStep.map((r) => (steps === 0 ? 0 : r * steps))
  return epsilonFromRdp(rdp, orders, delta, { conversion })
}

export interface RdpAccountantOptions {
  orders?: readonly number[]
  /**
   * The total to resume from, as `accountant.rdp` gave it. `null` reads as ∞: JSON writes ∞
   * (a round with σ = 0) as null.
   */
  rdp?: readonly (number | null)[]
}

/** Composes rounds that may differ in q and σ; the coordinator persists `rdp` between rounds. */
export interface RdpAccountant {
  readonly orders: readonly number[]
  /** The RDP spent so far at each order: a fresh plain array. */
  readonly rdp: number[]
  /** Adds `steps` rounds (default 1) at sampling rate q and noise multiplier σ. */
  step(q: number, sigma: number, steps?: number): void
  /** ε spent so far at this δ. */
  epsilon(delta: number, options?: EpsilonOptions): PrivacySpent
  /** ε if one more round ran at (q, σ), leaving the total as it is: to stop before a budget. */
  epsilonAfter(q: number, sigma: number, delta: number, options?: EpsilonOptions): PrivacySpent
}

export function createRdpAccountant({
  orders = DEFAULT_ORDERS,
  rdp: resumed,
}: RdpAccountantOptions = {}): RdpAccountant {
  checkOrders(orders)
  const fixedOrders = Object.freeze([...orders])
  let total: number[]
  if (resumed === undefined) total = fixedOrders.map(() => 0)
  else {
    if (resumed.length !== fixedOrders.length)
      throw new RangeError(`rdp has ${resumed.length} values for ${fixedOrders.length} orders`)
    total = resumed.map((r) => {
      const value = r === null ? Infinity : r
      if (!(value >= 0)) throw new RangeError(`rdp ${r} is not a number ≥ 0`)
      return value
    })
  }
  return {
    orders: fixedOrders,
    get rdp() {
      return [...total]
    },
    step(q, sigma, steps = 1) {
      checkSteps(steps)
      const perStep = rdpSampledGaussian(q, sigma, fixedOrders)
      if (steps === 0) return
      total = total.map((r, k) => r + perStep[k]! * steps)
    },
    epsilon(delta, options) {
      return epsilonFromRdp(total, fixedOrders, delta, options)
    },
    epsilonAfter(q, sigma, delta, options) {
      const perStep = rdpSampledGaussian(q, sigma, fixedOrders)
      const next = total.map((r, k) => r + perStep[k]!)
      return epsilonFromRdp(next, fixedOrders, delta, options)
    },
  }
}
