import { describe, expect, it } from 'vitest'
import { tensor, values } from '../../shared/aggregation/fixtures.ts'
import { AggregationSettingsSchema, WEIGHTINGS } from '../../shared/protocol/index.ts'
import type { AggregationSettings } from '../../shared/protocol/index.ts'
import { roundBounds } from '../rounds/update-bounds.ts'
import {
  strategyFor,
  withPrivateMean,
  withStaleness,
  withUpdateBounds,
  type RoundAggregation,
  type Strategy,
  type TrainReport,
} from './index.ts'

const spec = [
  { name: 'a', shape: [3] },
  { name: 'b', shape: [2] },
]
const global = [tensor('a', [0.5, -1, 2]), tensor('b', [0, 1])]

/** A deterministic generator, so a failure reproduces. */
function seeded(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function reports(count: number, seed: number): TrainReport[] {
  const random = seeded(seed)
  const around = (scale: number) => (random() - 0.5) * 2 * scale
  return Array.from({ length: count }, (_, i) => ({
    deviceId: `d${i}`,
    delta: [tensor('a', [around(3), around(3), around(3)]), tensor('b', [around(0.1), around(10)])],
    examples: 1 + Math.floor(random() * 50),
    steps: 1 + Math.floor(random() * 8),
    loss: random(),
    staleness: Math.floor(random() * 3),
  }))
}

async function next(strategy: Strategy, aggregation: RoundAggregation) {
  const weights = await strategy.aggregateTrain({ round: 1, global, aggregation, failures: [] })
  return weights?.flatMap(values) ?? null
}

/**
 * One aggregation fed every report, against three (one per replica) each fed a third whose
 * partials the owner's fresh aggregation merges: the same next model, to float rounding.
 */
async function compare(make: () => Strategy, all: TrainReport[]) {
  const whole = make()
  const one = whole.beginRound({ round: 1, spec })
  for (const r of all) one.accept(r)

  const owner = make()
  const merged = owner.beginRound({ round: 1, spec })
  const replicas = [0, 1, 2].map(() => make().beginRound({ round: 1, spec }))
  all.forEach((r, i) => replicas[i % 3]!.accept(r))
  for (const replica of replicas) merged.merge!(replica.partial!())

  expect(merged.reports).toBe(one.reports)
  expect(merged.examples).toBe(one.examples)
  expect(merged.bounds?.()).toEqual(one.bounds?.())
  const expected = await next(whole, one)
  const got = await next(owner, merged)
  expect(expected).not.toBeNull()
  expect(got).toHaveLength(expected!.length)
  got!.forEach((x, k) => expect(x).toBeCloseTo(expected![k]!, 5))
  return { one, merged }
}

const settings = (s: Partial<AggregationSettings> = {}) => AggregationSettingsSchema.parse(s)

describe('partial aggregations merged (hierarchical aggregation over replicas)', () => {
  for (const weighting of WEIGHTINGS)
    it(`a ${weighting}-weighted mean merged from three parts is the mean of all`, async () => {
      await compare(() => strategyFor({ weighting }), reports(31, 7))
    })

  it('under a server optimizer (FedAdam), the merged round steps as the whole one', async () => {
    await compare(() => strategyFor({ optimizer: 'fedadam' }), reports(20, 11))
  })

  it('with a norm bound fixed for the round: clipped sums add up, and so do the counts', async () => {
    const bounded = (s: AggregationSettings) => () =>
      withUpdateBounds(strategyFor(s), () => roundBounds(s, 1, null))
    const fixed = settings({ normBound: 2, weightBound: 'off' })
    const { merged } = await compare(bounded(fixed), reports(25, 3))
    expect(merged.bounds!().clipped).toBeGreaterThan(0)
  })

  it('the private mean (DP-FedAvg) composes: Σ clipped updates and their count add up', async () => {
    const charged: number[] = []
    const private_ = () =>
      withPrivateMean(strategyFor(), {
        clipNorm: 2,
        noiseStd: 0,
        onRelease: (n) => charged.push(n),
      })
    const all = reports(23, 13)
    await compare(private_, all)
    // Once for the whole round, once for the owner's merged one: never for a replica's part.
    expect(charged).toEqual([1, 1])
    // A part that does not fit is refused whole, and the merged round keeps what it had.
    const merged = private_().beginRound({ round: 1, spec })
    const part = private_().beginRound({ round: 1, spec })
    for (const r of all.slice(0, 3)) part.accept(r)
    const good = part.partial!()
    expect(good).toMatchObject({ reports: 3, weight: 3 })
    merged.merge!(good)
    for (const state of [
      { ...good, sum: new Float64Array(4) },
      { ...good, sum: Float64Array.from([1, 2, NaN, 4, 5]) },
      { ...good, examples: Infinity },
      { ...good, reports: 1.5 },
    ])
      expect(() => merged.merge!(state)).toThrow(RangeError)
    expect(merged.partial!()).toEqual(good)
  })

  it('staleness weighting composes: each report is weighed alone', async () => {
    await compare(() => withStaleness(strategyFor(), () => 0.5), reports(17, 5))
  })

  it('offers no partial where the maths does not add up: robust rules, calibrating bounds', () => {
    for (const rule of ['median', 'trimmed-mean', 'multi-krum'] as const) {
      const aggregation = strategyFor({ rule }).beginRound({ round: 1, spec })
      expect(aggregation.partial, rule).toBeUndefined()
      expect(aggregation.merge, rule).toBeUndefined()
    }
    // The defaults: an adaptive norm bound and weight cap, calibrated on each round's first reports.
    const adaptive = settings()
    const aggregation = withUpdateBounds(strategyFor(adaptive), () =>
      roundBounds(adaptive, 3, null),
    ).beginRound({ round: 1, spec })
    expect(aggregation.partial).toBeUndefined()
  })

  it('refuses a partial that does not fit, and keeps what it had', () => {
    const make = () => strategyFor({ weighting: 'normalized' })
    const owner = make()
    const merged = owner.beginRound({ round: 1, spec })
    const part = make().beginRound({ round: 1, spec })
    for (const r of reports(4, 9)) part.accept(r)
    const good = part.partial!()
    merged.merge!(good)
    const before = merged.partial!()
    const bad = [
      { ...good, sum: new Float64Array(4) },
      { ...good, sum: Float64Array.from([1, 2, NaN, 4, 5]) },
      { ...good, weight: -1 },
      { ...good, examples: Infinity },
      { ...good, reports: 1.5 },
      { ...good, extra: {} },
    ]
    for (const state of bad) expect(() => merged.merge!(state)).toThrow(RangeError)
    expect(merged.partial!()).toEqual(before)
    expect(merged.reports).toBe(4)
  })
})
