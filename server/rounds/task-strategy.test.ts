import { describe, expect, it, vi } from 'vitest'
import { BOUND_GROWTH, type TaskSpecInput, type UpdateBounds } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import { strategyFor, type Strategy } from '../strategy/index.ts'
import { fakeCore, taskRecord } from './fakes.ts'
import { policyFor } from './policy/index.ts'
import { createSecureCalls } from './secure-calls.ts'
import { createSubmission } from './submission.ts'
import { taskStrategy } from './task-strategy.ts'

const SPEC = [{ name: 'w', shape: [2] }]
const tensor = (...data: number[]): NamedTensor[] => [
  { name: 'w', shape: [2], dtype: 'float32', data: Float32Array.from(data) },
]

/** The task's strategy as taskStrategy wraps it, under the task's real policy. */
function wrapped(spec: Partial<TaskSpecInput>, previous: UpdateBounds | null = null) {
  const { core } = fakeCore()
  const submission = createSubmission(core, vi.fn())
  const secure = createSecureCalls(core, submission)
  const record = taskRecord(spec)
  const policy = policyFor(record, {
    core,
    submission,
    secure,
    startDeadline: vi.fn(),
    close: vi.fn(),
  })
  const charge = vi.fn()
  const previousBounds = vi.fn(() => previous)
  const base = strategyFor(record.spec.aggregation)
  const strategy = taskStrategy(base, { record, policy, previousBounds, charge, log: vi.fn() })
  return { strategy, base, record, charge, previousBounds }
}

/** Round `n` of `strategy` with `deltas` reported (10 examples each), aggregated over zeros. */
async function aggregate(strategy: Strategy, n: number, deltas: number[][]) {
  const aggregation = strategy.beginRound({ round: n, spec: SPEC })
  for (const [i, delta] of deltas.entries())
    aggregation.accept({ deviceId: `d${i}`, delta: tensor(...delta), examples: 10, steps: 1 })
  const next = await strategy.aggregateTrain({
    round: n,
    global: tensor(0, 0),
    aggregation,
    failures: [],
  })
  return { aggregation, weights: next && Array.from(next[0]!.data) }
}

const privacy = { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10, population: 100 }

describe('a task’s strategy', () => {
  it('a plain sync task: its own strategy inside the update bounds', () => {
    const { strategy, base } = wrapped({})
    expect(strategy.name).toBe(`bounded(${base.name})`)
  })

  it('an async task: staleness weighting inside the update bounds', () => {
    const { strategy, base } = wrapped({ mode: 'async' })
    expect(strategy.name).toBe(`bounded(staleness(${base.name}))`)
  })

  it.each([
    ['privacy', { privacy }],
    ['secure aggregation', { secureAggregation: true, rounds: { clientsPerRound: 3 } }],
  ])('a task with %s: the private mean, with no update bounds', (_, spec) => {
    const { strategy, base } = wrapped(spec)
    expect(strategy.name).toBe(`private-mean(${base.name})`)
  })

  it('private mean: clips to privacy.clipNorm, adds no noise in distributed mode, charges ε', async () => {
    const { strategy, charge } = wrapped({
      privacy: { ...privacy, mode: 'distributed' },
      secureAggregation: true,
      rounds: { clientsPerRound: 3 },
    })
    const { weights } = await aggregate(strategy, 4, [[3, 4]])
    // [3, 4] has norm 5: clipped to norm 1.
    expect(weights?.[0]).toBeCloseTo(0.6, 6)
    expect(weights?.[1]).toBeCloseTo(0.8, 6)
    expect(charge).toHaveBeenCalledWith(4)
  })

  it('private mean: the server adds noise in central mode', async () => {
    const { strategy } = wrapped({ privacy: { ...privacy, noiseMultiplier: 5 } })
    const { weights } = await aggregate(strategy, 1, [[0.3, 0.4]])
    expect(weights).not.toEqual([expect.closeTo(0.3, 3), expect.closeTo(0.4, 3)])
  })

  it('update bounds: read from the task’s spec as each round begins', () => {
    const { strategy, record } = wrapped({ aggregation: { normBound: 2 } })
    expect(strategy.beginRound({ round: 1, spec: SPEC }).bounds?.()).toMatchObject({ norm: 2 })
    record.spec = { ...record.spec, aggregation: { ...record.spec.aggregation, normBound: 5 } }
    expect(strategy.beginRound({ round: 2, spec: SPEC }).bounds?.()).toMatchObject({ norm: 5 })
  })

  it('update bounds: a report held while the bound calibrates is released only once it is summed', () => {
    const { strategy } = wrapped({ rounds: { minReports: 2 } })
    const aggregation = strategy.beginRound({ round: 1, spec: SPEC })
    const released = [vi.fn(), vi.fn()]
    const accept = (i: number) =>
      aggregation.accept({
        deviceId: `d${i}`,
        delta: tensor(3, 4),
        examples: 10,
        steps: 1,
        owned: true,
        release: released[i]!,
      })
    accept(0)
    expect(released[0]).not.toHaveBeenCalled()
    accept(1)
    for (const release of released) expect(release).toHaveBeenCalledOnce()
  })

  it('update bounds: an adaptive bound rises at most BOUND_GROWTH times the last committed one', async () => {
    const previous = { norm: 0.5, weight: null, clipped: 0, capped: 0 }
    const { strategy, previousBounds } = wrapped({ rounds: { minReports: 1 } }, previous)
    const { aggregation } = await aggregate(strategy, 1, [[30, 40]])
    expect(previousBounds).toHaveBeenCalled()
    expect(aggregation.bounds?.()).toMatchObject({ norm: BOUND_GROWTH * 0.5, clipped: 1 })
  })
})
