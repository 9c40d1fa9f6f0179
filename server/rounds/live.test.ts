import { describe, expect, it, vi } from 'vitest'
import { PollenError } from '../errors.ts'
import { fakeCore, liveTask, taskRecord } from './fakes.ts'
import type { RoundPolicy } from './live.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createTransitions } from './transitions.ts'

/** A promise and the function that settles it, to hold a write in the queue. */
function gate() {
  let open!: () => void
  const done = new Promise<void>((resolve) => (open = resolve))
  return { done, open }
}

/** A task with its first round open, on a fake core whose log is a spy. */
function setup() {
  const log = vi.fn()
  const fake = fakeCore({ log })
  const policy = { begin: vi.fn() } as unknown as RoundPolicy
  const live = liveTask(taskRecord(), policy)
  fake.core.tasks.set(live.record.id, live)
  const commit = () => Promise.resolve(null)
  createTransitions(fake.core, commit, createPrivacyBudget(fake.core)).openNextRound(live)
  return { ...fake, log, live, round: live.open! }
}

describe('the scheduler core', () => {
  it('enqueue: runs a task’s writes one after another, in the order they were decided', async () => {
    const { core, live } = setup()
    const order: string[] = []
    const first = gate()
    const started = gate()
    void core.enqueue(live, async () => {
      order.push('first starts')
      started.open()
      await first.done
      order.push('first ends')
    })
    const second = core.enqueue(live, () => {
      order.push('second')
      return Promise.resolve()
    })
    await started.done
    // A turn of the event loop: the second write would have run by now, were it not queued.
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(order).toEqual(['first starts'])
    first.open()
    await second
    expect(order).toEqual(['first starts', 'first ends', 'second'])
  })

  it('enqueue: logs a failed write and goes on with the next', async () => {
    const { core, live, log } = setup()
    const later = vi.fn(() => Promise.resolve())
    const failed = core.enqueue(live, () => Promise.reject(new Error('disk full')))
    const next = core.enqueue(live, later)
    await expect(failed).resolves.toBeUndefined()
    await next
    expect(log).toHaveBeenCalledWith('store write for task t1 failed: Error: disk full')
    expect(later).toHaveBeenCalledTimes(1)
  })

  it('persistRound: stores the counters as they were when it was called', async () => {
    const { core, live, round, calls } = setup()
    const held = gate()
    void core.enqueue(live, () => held.done)
    Object.assign(round.record, { selected: 3, reported: 1, examples: 40, bytesDown: 800 })
    round.record.updateBounds = { norm: 2, weight: null, clipped: 1, capped: 0 }
    round.record.participation.byBackend.wasm = { devices: 1, examples: 40 }
    const persisted = core.persistRound(live, round)
    // The round goes on while the write waits behind the held one.
    Object.assign(round.record, { selected: 5, reported: 2, bytesDown: 1600 })
    round.record.updateBounds.clipped = 9
    round.record.participation.byBackend.wasm.devices = 2
    held.open()
    await persisted
    const write = calls.find((c) => c.name === 'updateRound')
    expect(write?.args).toEqual([
      't1',
      1,
      expect.objectContaining({
        selected: 3,
        reported: 1,
        examples: 40,
        bytesDown: 800,
        updateBounds: { norm: 2, weight: null, clipped: 1, capped: 0 },
      }),
    ])
    const patch = write?.args[2] as typeof round.record
    expect(patch.participation.byBackend.wasm).toEqual({ devices: 1, examples: 40 })
  })

  it('publishRound announces the round as it is now', () => {
    const { core, live, round, published } = setup()
    round.record.selected = 4
    core.publishRound(live, round)
    expect(published.at(-1)).toMatchObject({
      type: 'round.updated',
      taskId: 't1',
      round: { round: 1, selected: 4 },
    })
  })

  it('liveTask: the task by its id, or a 404 naming the id', () => {
    const { core, live } = setup()
    expect(core.liveTask('t1')).toBe(live)
    const error = (() => {
      try {
        core.liveTask('nope')
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(PollenError)
    expect(error).toMatchObject({
      code: 'not_found',
      status: 404,
      field: 'id',
      message: 'no task nope',
    })
  })
})
