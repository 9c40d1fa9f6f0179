import { describe, expect, it, vi } from 'vitest'
import type { DeviceRecord } from '../store/index.ts'
import { createDownloads } from './downloads.ts'
import { fakeCore, liveTask, taskRecord } from './fakes.ts'
import type { RoundPolicy } from './live.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createTransitions } from './transitions.ts'

const device = (id: string): DeviceRecord => ({
  id,
  tokenHash: id,
  label: null,
  capabilities: null,
  datasets: [],
  enrolledAt: 0,
  lastSeenAt: 0,
})

/** Task t1's round 1 open on model h0, device `a` assigned and `b` already reported. */
async function setup() {
  const fake = fakeCore()
  const { core } = fake
  const live = liveTask(taskRecord(), { begin: vi.fn() } as unknown as RoundPolicy)
  core.tasks.set(live.record.id, live)
  createTransitions(core, () => Promise.resolve(null), createPrivacyBudget(core)).openNextRound(
    live,
  )
  const round = live.open!
  round.devices.set('a', 'assigned')
  round.devices.set('b', 'reported')
  await live.queue
  fake.calls.length = 0
  fake.published.length = 0
  return { ...fake, downloaded: createDownloads(core), live, round }
}

describe('model downloads', () => {
  it('an assigned device downloading its round’s base model: bytes counted, assignment stamped', async () => {
    const { downloaded, live, round, calls, published, clock } = await setup()
    clock.advance(500)
    downloaded(device('a'), 'h0', 1234)
    expect(round.record.bytesDown).toBe(1234)
    await live.queue
    expect(calls.map((c) => [c.name, ...c.args])).toEqual([
      ['updateAssignment', { taskId: 't1', round: 1, deviceId: 'a' }, { downloadedAt: 1_000_500 }],
      ['updateRound', 't1', 1, expect.objectContaining({ bytesDown: 1234 })],
    ])
    expect(published).toHaveLength(2)
    expect(published[0]).toEqual({
      type: 'device.state',
      deviceId: 'a',
      state: 'downloaded',
      taskId: 't1',
      round: 1,
    })
    expect(published[1]).toMatchObject({
      type: 'round.updated',
      round: { round: 1, bytesDown: 1234 },
    })
    downloaded(device('a'), 'h0', 1000)
    expect(round.record.bytesDown).toBe(2234)
  })

  it.each([
    ['another model', 'a', 'h9'],
    ['a device not selected', 'z', 'h0'],
    ['a device that already reported', 'b', 'h0'],
  ])('%s: only the device’s state is announced', async (_, id, hash) => {
    const { downloaded, live, round, calls, published } = await setup()
    downloaded(device(id), hash, 1234)
    await live.queue
    expect(round.record.bytesDown).toBe(0)
    expect(calls).toEqual([])
    expect(published).toEqual([{ type: 'device.state', deviceId: id, state: 'downloaded' }])
  })

  it('a task with no round open counts nothing', async () => {
    const { downloaded, live, calls, published } = await setup()
    live.open = undefined
    downloaded(device('a'), 'h0', 1234)
    await live.queue
    expect(calls).toEqual([])
    expect(published).toEqual([{ type: 'device.state', deviceId: 'a', state: 'downloaded' }])
  })
})
