import { describe, expect, it, vi } from 'vitest'
import type { Assignment, TaskSpecInput } from '../../../shared/protocol/index.ts'
import { encodeContainer } from '../../../shared/tensors/index.ts'
import type { DeviceRecord } from '../../store/index.ts'
import { claimBound } from '../claims.ts'
import { createCommit } from '../commit.ts'
import { fakeCore, liveTask, taskRecord } from '../fakes.ts'
import { createPrivacyBudget } from '../privacy-budget.ts'
import { createSecureCalls } from '../secure-calls.ts'
import { createSubmission } from '../submission.ts'
import { createTransitions } from '../transitions.ts'
import { TOO_LARGE } from '../types.ts'
import { policyFor } from './index.ts'

const device = (id: string): DeviceRecord => ({
  id,
  tokenHash: id,
  label: null,
  capabilities: null,
  datasets: [],
  enrolledAt: 0,
  lastSeenAt: 0,
})
const BASE = 'c'.repeat(64)
const plan = { localEpochs: 1, batchSize: 10, learningRate: 0.1, optimizer: 'sgd' as const }

/** A task of `spec` under its policy, its first round open, on fake dependencies. */
function setup(spec: Partial<TaskSpecInput>) {
  const fake = fakeCore()
  const { core, clock } = fake
  const close = vi.fn()
  const startDeadline = vi.fn()
  const submission = createSubmission(core, close)
  const secure = createSecureCalls(core, submission)
  const record = taskRecord(spec)
  const policy = policyFor(record, { core, submission, secure, startDeadline, close })
  const live = liveTask(record, policy)
  live.strategy = policy.wrap(live.strategy, live)
  core.tasks.set(record.id, live)
  const transitions = createTransitions(core, createCommit(core), createPrivacyBudget(core))
  transitions.openNextRound(live)
  /** Selects `id` in the open round as selection.ts does, with a deadline `seconds` away. */
  const select = (id: string, seconds = 60): Assignment => {
    const round = live.open!
    round.devices.set(id, 'assigned')
    round.record.selected += 1
    const answer = {
      round: round.record.round,
      deadline: new Date(clock.now() + seconds * 1000).toISOString(),
      plan,
    } as Assignment
    policy.selected(round, device(id), answer, claimBound(plan, 10))
    return answer
  }
  return { ...fake, live, policy, transitions, round: live.open!, close, startDeadline, select }
}

const modes = {
  sync: { rounds: { clientsPerRound: 2, minReports: 1, overSelect: 1 } },
  async: { mode: 'async', async: { concurrency: 2, bufferSize: 2 } },
} satisfies Record<string, Partial<TaskSpecInput>>

// What every round policy does, whatever its mode.
describe.each(Object.entries(modes))('the %s policy', (_, spec) => {
  it('is full once it holds the devices it takes', () => {
    const { policy, live, round, select } = setup(spec)
    expect(policy.load(live, round)).toBe(0)
    select('a')
    expect(policy.load(live, round)).toBe(0.5)
    select('b')
    expect(policy.load(live, round)).toBe(1)
  })

  it('abandons a round that closes with no report, and commits one with enough', async () => {
    const { policy, live, round } = setup(spec)
    expect(await policy.closing(live, round)).toMatch(/^fewer reports than the 1 it needs/)
    round.record.reported = 1
    expect(await policy.closing(live, round)).toBeNull()
  })

  it('answers an upload from a device it never assigned: unknown round', async () => {
    const { policy, live } = setup(spec)
    const result = await policy.upload(live, {
      device: device('stranger'),
      taskId: live.record.id,
      round: 1,
      readBody: () => Promise.resolve(new Uint8Array()),
    })
    expect(result.answer.type).toBe('unknown-round')
  })

  it('rejects an update past its size limit as too large, reading no more of it', async () => {
    const { policy, live, select } = setup(spec)
    select('a')
    const readBody = vi.fn((_: number) => Promise.resolve<typeof TOO_LARGE>(TOO_LARGE))
    const result = await policy.upload(live, {
      device: device('a'),
      taskId: live.record.id,
      round: 1,
      readBody,
    })
    expect(readBody).toHaveBeenCalledWith(8 + 64 * 1024)
    expect(result).toMatchObject({
      answer: { type: 'rejected', field: 'body' },
      problem: 'too-large',
    })
  })
})

describe('the sync policy', () => {
  it('starts the deadline at the first selection, and selects a device once', () => {
    const { policy, live, round, startDeadline, select } = setup(modes.sync)
    policy.selectionStarted(live, round)
    expect(startDeadline).toHaveBeenCalledWith(live, round)
    select('a')
    expect(policy.mayJoin(round, 'a')).toBe(false)
    expect(policy.mayJoin(round, 'b')).toBe(true)
    expect(policy.resume('a')).toBeUndefined()
  })

  it('counts the selected that never answered as dropped when the round closes', async () => {
    const { policy, live, round } = setup(modes.sync)
    Object.assign(round.record, { selected: 5, reported: 2, rejected: 1 })
    await policy.closing(live, round)
    expect(round.record.dropped).toBe(2)
  })

  it('leaves the strategy as it is', () => {
    const { policy, live } = setup(modes.sync)
    expect(policy.wrap(live.strategy, live)).toBe(live.strategy)
  })
})

describe('the async (FedBuff) policy', () => {
  it('hands a device at work its work again, and takes it back past its deadline', async () => {
    const { policy, live, round, select, clock, core, writes } = setup(modes.async)
    const given = select('a', 60)
    expect(policy.resume('a')).toBe(given)
    expect(policy.mayJoin(round, 'a')).toBe(true)
    policy.beforeCheckin(live, clock.now() + 59_000)
    expect(policy.resume('a')).toBe(given)
    policy.beforeCheckin(live, clock.now() + 60_000)
    expect(policy.resume('a')).toBeUndefined()
    expect(round.record.dropped).toBe(1)
    await core.enqueue(live, () => Promise.resolve())
    expect(writes.at(-1)).toBe('updateAssignment')
  })

  it('gives each assignment the deadline’s length from now', () => {
    const { policy, round, clock } = setup(modes.async)
    const seconds = round.settings.deadlineSeconds
    expect(policy.deadlineAt(round, clock.now())).toBe(clock.now() + seconds * 1000)
  })

  it('refuses an update more than maxStaleness rounds behind as stale', async () => {
    const { policy, live, select } = setup({ ...modes.async, async: { maxStaleness: 1 } })
    select('a')
    // Three versions later.
    const next = { ...live.open!.record, round: 4 }
    live.open = { ...live.open!, record: next }
    const result = await policy.upload(live, {
      device: device('a'),
      taskId: live.record.id,
      round: 1,
      readBody: () => Promise.resolve(new Uint8Array()),
    })
    expect(result.answer).toMatchObject({ type: 'stale', staleness: 3, maxStaleness: 1 })
  })

  it('takes updates in a round re-opened after a restart, checked against its base', async () => {
    const { policy, live, transitions, select } = setup(modes.async)
    const base = live.open!.record
    live.open = undefined
    transitions.reopen(live, { ...base, baseModel: BASE }, 0)
    select('a')
    const metadata = { examples: 10, steps: 1, baseModel: BASE }
    const data = new Float32Array(2)
    const body = encodeContainer({
      tensors: [{ name: 'w', shape: [2], dtype: 'float32', data }],
      metadata,
    })
    const result = await policy.upload(live, {
      device: device('a'),
      taskId: live.record.id,
      round: 1,
      readBody: () => Promise.resolve(body),
    })
    expect(result.answer).toMatchObject({ type: 'accepted', reported: 1 })
  })

  it('weighs stale updates down through its strategy wrapper', () => {
    const { policy, live } = setup(modes.async)
    expect(policy.wrap(live.strategy, live).name).toMatch(/^staleness\(/)
  })
})
