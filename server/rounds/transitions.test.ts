import { describe, expect, it, vi } from 'vitest'
import { fakeCore, liveTask, taskRecord } from './fakes.ts'
import type { LiveRound, LiveTask, RoundPolicy } from './live.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createTransitions } from './transitions.ts'

/** A policy whose hooks are spies; `closing` answers `why` (null: go on to commit). */
function spyPolicy(why: string | null = null) {
  const spies = {
    begin: vi.fn(),
    selectionStarted: vi.fn(),
    closing: vi.fn(() => Promise.resolve(why)),
  }
  return Object.assign(spies as unknown as RoundPolicy, { spies })
}

function setup(
  policy: RoundPolicy,
  commit = vi.fn((_: LiveTask, round: LiveRound) => {
    round.record.status = 'committed'
    return Promise.resolve(null)
  }),
) {
  const fake = fakeCore()
  const transitions = createTransitions(fake.core, commit, createPrivacyBudget(fake.core))
  const live = liveTask(taskRecord({ rounds: { total: 2 } }), policy)
  fake.core.tasks.set(live.record.id, live)
  return { ...fake, transitions, live, commit }
}

describe('round transitions', () => {
  it('open: numbers the round, begins it under the policy, stores and announces it', async () => {
    const policy = spyPolicy()
    const { transitions, live, writes, published, core } = setup(policy)
    transitions.openNextRound(live)
    expect(live.open).toMatchObject({ phase: 'open', record: { round: 1, baseModel: 'h0' } })
    expect(policy.spies.begin).toHaveBeenCalledWith(live, live.open)
    // Opening again while one is open does nothing.
    transitions.openNextRound(live)
    expect(live.record.round).toBe(1)
    await core.enqueue(live, () => Promise.resolve())
    expect(writes).toEqual(['openRound'])
    expect(published.map((e) => e.type)).toEqual(['round.opened'])
  })

  it('selecting: once, at the first selection, where the policy starts its clock', () => {
    const policy = spyPolicy()
    const { transitions, live } = setup(policy)
    transitions.openNextRound(live)
    transitions.startSelecting(live, live.open!)
    transitions.startSelecting(live, live.open!)
    expect(live.open!.phase).toBe('selecting')
    expect(policy.spies.selectionStarted).toHaveBeenCalledTimes(1)
  })

  it('a deadline closes the round when it passes', async () => {
    const { transitions, live, clock, commit } = setup(spyPolicy())
    transitions.openNextRound(live)
    const round = live.open!
    transitions.startDeadline(live, round)
    expect(round.record.deadlineAt).toBe(clock.now() + round.settings.deadlineSeconds * 1000)
    clock.advance(round.settings.deadlineSeconds * 1000)
    await transitions.settled()
    expect(commit).toHaveBeenCalledWith(live, round)
    expect(round.phase).toBe('committed')
  })

  it('closing → committed: stores the close and opens the next round', async () => {
    const { transitions, live, writes, published } = setup(spyPolicy())
    transitions.openNextRound(live)
    const first = live.open!
    transitions.close(live, first, 'target')
    expect(first.phase).toBe('closing')
    await transitions.settled()
    expect(first.phase).toBe('committed')
    expect(first.record.closedAt).not.toBeNull()
    expect(live.open?.record.round).toBe(2)
    expect(writes).toEqual(['openRound', 'closeRound', 'openRound'])
    expect(published.map((e) => e.type)).toEqual([
      'round.opened',
      'round.closed',
      'task.updated',
      'round.opened',
    ])
  })

  it('closing → abandoned: the policy says why, and nothing is committed', async () => {
    const { transitions, live, commit } = setup(spyPolicy('fewer reports than the 2 it needs'))
    transitions.openNextRound(live)
    const round = live.open!
    transitions.close(live, round, 'deadline')
    // A second close of the same round is a no-op.
    transitions.close(live, round, 'target')
    await transitions.settled()
    expect(commit).not.toHaveBeenCalled()
    expect(round.phase).toBe('abandoned')
    expect(round.record).toMatchObject({
      status: 'abandoned',
      abandonedReason: 'fewer reports than the 2 it needs',
    })
  })

  it('a commit that throws fails the task and abandons the round, saying why', async () => {
    const { transitions, live } = setup(
      spyPolicy(),
      vi.fn(() => Promise.reject(new Error('disk'))),
    )
    transitions.openNextRound(live)
    const round = live.open!
    transitions.close(live, round, 'target')
    await transitions.settled()
    expect(live.record).toMatchObject({ status: 'failed' })
    expect(round.record.abandonedReason).toMatch(/round 1 could not be committed: Error: disk/)
    expect(live.open).toBeUndefined()
  })

  it('reopen: a round left open by a crash begins afresh under its number', () => {
    const policy = spyPolicy()
    const { transitions, live } = setup(policy)
    transitions.openNextRound(live)
    const stored = { ...live.open!.record, selected: 3, reported: 1 }
    live.open = undefined
    transitions.reopen(live, stored, 5)
    expect(live.open).toMatchObject({
      phase: 'open',
      record: { round: 1, selected: 0, reported: 0, startedAt: 5 },
    })
    expect(policy.spies.begin).toHaveBeenCalledTimes(2)
  })
})
