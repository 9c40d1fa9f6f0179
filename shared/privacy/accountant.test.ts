import { describe, expect, it } from 'vitest'
import {
  computeEpsilon,
  createRdpAccountant,
  DEFAULT_ORDERS,
  epsilonFromRdp,
  rdpSampledGaussian,
} from './index.ts'

/** |actual/expected − 1|; 0 when both are 0 or both the same infinity. */
const relativeError = (actual: number, expected: number) =>
  actual === expected ? 0 : Math.abs(actual / expected - 1)

/** TF Privacy's `compute_dp_sgd_privacy_lib.compute_dp_sgd_privacy` orders. */
const TF_DP_SGD_ORDERS = [
  ...[1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5],
  ...Array.from({ length: 59 }, (_, k) => 5 + k),
  ...[128, 256, 512],
]

/** compute_dp_sgd_privacy(n, batch_size, noise_multiplier, epochs, delta) as TF Privacy runs it. */
const dpSgd = (n: number, batchSize: number, sigma: number, epochs: number, delta: number) => ({
  q: batchSize / n,
  sigma,
  steps: Math.ceil((epochs * n) / batchSize),
  delta,
  orders: TF_DP_SGD_ORDERS,
})

describe('RDP accountant: published reference values', () => {
  it('matches the RDP of compute_rdp(0.01, 2.5, 50, orders) order by order', () => {
    const orders = [1.5, 2.5, 5, 50, 100, Infinity]
    const rdp = rdpSampledGaussian(0.01, 2.5, orders).map((r) => r * 50)
    // tensorflow/privacy tensorflow_privacy/privacy/analysis/rdp_accountant_test.py,
    // test_compute_rdp_sequence (published to 1e-5 absolute).
    const tf = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, Infinity]
    // google/differential-privacy python/dp_accounting/dp_accounting/rdp/
    // rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian (rtol 1e-4).
    const dpAccounting = [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2]
    rdp.forEach((r, k) => expect(relativeError(r, tf[k]!), `order ${orders[k]}`).toBeLessThan(1e-3))
    // Integer orders: the same binomial sum, so to dp_accounting's 9 digits.
    for (const k of [2, 3, 4]) expect(relativeError(rdp[k]!, dpAccounting[k]!)).toBeLessThan(1e-7)
    // Fractional orders: dp_accounting sums |C(α, i)| where the exact series alternates, an upper
    // bound (3% high at 1.5); ours is the exact value TF Privacy and Opacus compute.
    expect(rdp[0]).toBeLessThan(dpAccounting[0]!)
    expect(relativeError(rdp[0]!, dpAccounting[0]!)).toBeLessThan(0.035)
    expect(rdp[1]).toBeLessThan(dpAccounting[1]!)
    expect(relativeError(rdp[1]!, dpAccounting[1]!)).toBeLessThan(1e-4)
  })

  it('matches rdp_accountant_test.py: no data, no sampling, a scalar order', () => {
    // test_compute_rdp_no_data, test_compute_rdp_no_sampling, test_compute_rdp_scalar.
    expect(rdpSampledGaussian(0, 10, [20])).toEqual([0])
    expect(rdpSampledGaussian(1, 10, [20])).toEqual([0.1])
    const [scalar] = rdpSampledGaussian(0.1, 2, [5])
    expect(relativeError(scalar! * 10, 0.07737)).toBeLessThan(1e-4)
  })

  it('matches compute_dp_sgd_privacy ε and its best order (Balle et al. 2020 conversion)', () => {
    // tensorflow/privacy tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
    // test_compute_dp_sgd_privacy, since it moved onto dp_accounting.
    const cases: [ReturnType<typeof dpSgd>, number, number][] = [
      [dpSgd(60000, 150, 1.3, 15, 1e-5), 0.7242234026109595, 19],
      [dpSgd(100000, 100, 1.0, 30, 1e-7), 1.4154988495444842, 13],
      [dpSgd(100000000, 1024, 0.1, 10, 1e-7), 5907982.3113978775, 1.25],
    ]
    for (const [input, epsilon, order] of cases) {
      const spent = computeEpsilon(input)
      expect(relativeError(spent.epsilon, epsilon), `q ${input.q}`).toBeLessThan(1e-8)
      expect(spent.order).toBe(order)
    }
  })

  it('matches the same file before 2020 with the old conversion rdp − log δ/(α − 1)', () => {
    // The 2019 version of compute_dp_sgd_privacy_test.py, from rdp_accountant.get_privacy_spent
    // before it took Balle et al.'s Theorem 21: the same runs, each ε larger.
    const cases: [ReturnType<typeof dpSgd>, number, number][] = [
      [dpSgd(60000, 150, 1.3, 15, 1e-5), 0.941870567, 19],
      [dpSgd(100000, 100, 1.0, 30, 1e-7), 1.70928734, 13],
      [dpSgd(100000000, 1024, 0.1, 10, 1e-7), 5907984.81339406, 1.25],
    ]
    for (const [input, epsilon, order] of cases) {
      const spent = computeEpsilon({ ...input, conversion: 'mironov2017' })
      expect(relativeError(spent.epsilon, epsilon), `q ${input.q}`).toBeLessThan(1e-8)
      expect(spent.order).toBe(order)
      expect(computeEpsilon(input).epsilon).toBeLessThan(spent.epsilon)
    }
  })

  it("matches Opacus's RDPAccountant: σ 1.5, q 0.04, 2250 steps, δ 1e-5 → ε 7.32911117143", () => {
    // pytorch/opacus opacus/tests/accountants_test.py, test_rdp_accountant (default orders).
    const accountant = createRdpAccountant()
    accountant.step(0.04, 1.5, 2250)
    const spent = accountant.epsilon(1e-5)
    expect(relativeError(spent.epsilon, 7.32911117143)).toBeLessThan(1e-10)
    expect(spent.order).toBe(3.9)
  })

  it('composes rounds that differ in q and σ: rdp_accountant_test.py test_check_composition', () => {
    // 40000 steps at q 1e-4, σ 0.4, then 100 at q 0.1, σ 2: ε 8.509656 at order 2.5 with the old
    // conversion (the figure the test kept as an upper bound once the conversion changed).
    const orders = [
      1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256,
    ]
    const accountant = createRdpAccountant({ orders })
    accountant.step(1e-4, 0.4, 40000)
    accountant.step(0.1, 2, 100)
    const old = accountant.epsilon(1e-5, { conversion: 'mironov2017' })
    expect(relativeError(old.epsilon, 8.509656)).toBeLessThan(1e-6)
    expect(old.order).toBe(2.5)
    expect(accountant.epsilon(1e-5).epsilon).toBeLessThanOrEqual(8.509656)
  })

  it('converts as rdp_accountant_test.py and dp_accounting expect: pure DP and plain Gaussian', () => {
    // test_get_privacy_spent_check_target_delta / test_compute_epsilon_delta_pure_dp: a constant
    // RDP of 1.1 over orders 2..32 is pure DP; the largest order wins, ε by hand 1.32783806176.
    const orders = Array.from({ length: 31 }, (_, k) => 2 + k)
    const pure = epsilonFromRdp(
      orders.map(() => 1.1),
      orders,
      1e-5,
    )
    expect(relativeError(pure.epsilon, 1.32783806176)).toBeLessThan(1e-10)
    expect(pure.order).toBe(32)
    // test_compute_epsilon_delta_gaussian: q = 1, σ = 4.530877117 is (1, 1e-6)-DP over a fine grid
    // of orders (theirs starts at 1.000, where the conversion is NaN and left out anyway).
    const fine = Array.from({ length: 98999 }, (_, k) => 0.001 * (1001 + k))
    const gaussian = epsilonFromRdp(rdpSampledGaussian(1, 4.530877117, fine), fine, 1e-6)
    expect(relativeError(gaussian.epsilon, 1)).toBeLessThan(1e-7)
  })
})

describe('RDP accountant: properties', () => {
  const base = { q: 0.01, sigma: 1.1, steps: 1000, delta: 1e-5 }

  it('q = 1 is the plain Gaussian α/(2σ²) exactly, q = 0 spends nothing, σ = 0 everything', () => {
    for (const sigma of [0.3, 1, 2.7]) {
      const rdp = rdpSampledGaussian(1, sigma)
      DEFAULT_ORDERS.forEach((order, k) => expect(rdp[k]).toBe(order / (2 * sigma * sigma)))
    }
    expect(rdpSampledGaussian(0, 0).every((r) => r === 0)).toBe(true)
    expect(rdpSampledGaussian(0.5, 0).every((r) => r === Infinity)).toBe(true)
    expect(computeEpsilon({ ...base, sigma: 0 })).toEqual({ epsilon: Infinity, order: 1.1 })
    expect(computeEpsilon({ ...base, q: 0 }).epsilon).toBe(0)
    expect(computeEpsilon({ ...base, sigma: 0, steps: 0 }).epsilon).toBe(0)
  })

  it('ε falls as σ grows and rises with steps and with q', () => {
    const increasing = (values: number[]) => values.every((v, k) => k === 0 || v > values[k - 1]!)
    const bySigma = [0.6, 0.8, 1, 1.5, 2, 4, 8].map(
      (sigma) => computeEpsilon({ ...base, sigma }).epsilon,
    )
    expect(increasing(bySigma.reverse())).toBe(true)
    const bySteps = [1, 10, 100, 1000, 10000].map(
      (steps) => computeEpsilon({ ...base, steps }).epsilon,
    )
    expect(increasing(bySteps)).toBe(true)
    const byQ = [0.001, 0.005, 0.01, 0.05, 0.2, 0.5, 1].map(
      (q) => computeEpsilon({ ...base, q }).epsilon,
    )
    expect(increasing(byQ)).toBe(true)
  })

  it('integer and fractional orders agree where they meet', () => {
    // Two different series: the binomial sum at α = 3, the erfc series just beside it.
    for (const [q, sigma] of [
      [0.01, 1],
      [0.2, 0.7],
      [0.001, 3],
    ] as const) {
      const [below, at, above] = rdpSampledGaussian(q, sigma, [3 - 1e-9, 3, 3 + 1e-9])
      expect(relativeError(below!, at!)).toBeLessThan(1e-7)
      expect(relativeError(above!, at!)).toBeLessThan(1e-7)
    }
  })

  it('the accountant adds rounds up and answers "one more round" without spending it', () => {
    const accountant = createRdpAccountant()
    accountant.step(0.01, 1.1)
    accountant.step(0.05, 2)
    accountant.step(0.01, 1.1, 3)
    const expected = rdpSampledGaussian(0.01, 1.1).map(
      (r, k) => 4 * r + rdpSampledGaussian(0.05, 2)[k]!,
    )
    accountant.rdp.forEach((r, k) => expect(relativeError(r, expected[k]!)).toBeLessThan(1e-14))

    const before = accountant.rdp
    const after = accountant.epsilonAfter(0.05, 2, 1e-5)
    expect(accountant.rdp).toEqual(before)
    expect(after.epsilon).toBeGreaterThan(accountant.epsilon(1e-5).epsilon)
    accountant.step(0.05, 2)
    expect(accountant.epsilon(1e-5)).toEqual(after)

    // rdp_accountant_test.py test_compute_heterogeneous_rdp_different_sampling_probabilities.
    const mixed = createRdpAccountant({ orders: [20] })
    mixed.step(0, 10)
    mixed.step(1, 10)
    expect(mixed.rdp).toEqual([0.1])
  })

  it('persists as a plain array, ∞ included (JSON writes it as null)', () => {
    const accountant = createRdpAccountant({ orders: [2, 8] })
    accountant.step(0.1, 1)
    const saved = JSON.parse(JSON.stringify(accountant.rdp)) as number[]
    const resumed = createRdpAccountant({ orders: [2, 8], rdp: saved })
    expect(resumed.epsilon(1e-5)).toEqual(accountant.epsilon(1e-5))
    resumed.step(0.1, 0)
    const broken = JSON.parse(JSON.stringify(resumed.rdp)) as (number | null)[]
    expect(broken).toEqual([null, null])
    expect(createRdpAccountant({ orders: [2, 8], rdp: broken }).epsilon(1e-5).epsilon).toBe(
      Infinity,
    )
  })

  it('refuses bad input with a RangeError that names the argument', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => rdpSampledGaussian(-0.1, 1), /^q -0.1 /],
      [() => rdpSampledGaussian(1.5, 1), /^q 1.5 /],
      [() => rdpSampledGaussian(NaN, 1), /^q NaN /],
      [() => rdpSampledGaussian(0.1, -1), /^sigma -1 /],
      [() => rdpSampledGaussian(0.1, Infinity), /^sigma Infinity /],
      [() => rdpSampledGaussian(0.1, 1, []), /^orders is empty/],
      [() => rdpSampledGaussian(0.1, 1, [2, 1]), /^orders: 1 /],
      [() => computeEpsilon({ ...base, steps: 1.5 }), /^steps 1.5 /],
      [() => computeEpsilon({ ...base, steps: -1 }), /^steps -1 /],
      [() => computeEpsilon({ ...base, delta: 0 }), /^delta 0 /],
      [() => computeEpsilon({ ...base, delta: 1 }), /^delta 1 /],
      [() => epsilonFromRdp([1], [2, 3], 1e-5), /^rdp has 1 values for 2 orders/],
      [() => epsilonFromRdp([-1], [2], 1e-5), /^rdp -1 /],
      [() => createRdpAccountant({ orders: [2], rdp: [0, 0] }), /^rdp has 2 values/],
      [() => createRdpAccountant({ orders: [2], rdp: [NaN] }), /^rdp NaN /],
      [() => createRdpAccountant().step(0.1, 1, -2), /^steps -2 /],
      [() => createRdpAccountant().epsilonAfter(2, 1, 1e-5), /^q 2 /],
    ]
    for (const [call, message] of bad) {
      expect(call).toThrow(RangeError)
      expect(call).toThrow(message)
    }
  })
})
