import { describe, expect, it, vi } from 'vitest'
import type { RoundView, TaskView } from '../../../shared/protocol/index.ts'
import type { DatasetView } from '../api.ts'
import { round } from '../fixtures.ts'
import { createSync, mergeRounds, type SyncOptions } from './sync.ts'
import { createView } from './view.ts'

const task = (id: string) =>
  ({ id, name: id, status: 'running', round: 1, createdAt: '2026-01-01' }) as TaskView

/** A sync over a fake coordinator; `throttle` runs at once, so each burst is seen. */
function setUp(api: Partial<SyncOptions['api']> = {}) {
  const view = createView('')
  const render = vi.fn()
  const calls = { rounds: [] as string[], devices: [] as [string, number][], datasets: 0 }
  const sync = createSync({
    view,
    render,
    now: () => 0,
    throttle: (run) => run,
    api: {
      rounds: (id) => {
        calls.rounds.push(id)
        return Promise.resolve([round({ round: 1, status: 'open' })])
      },
      roundDevices: (id, r) => {
        calls.devices.push([id, r])
        return Promise.resolve([])
      },
      datasets: () => {
        calls.datasets += 1
        return Promise.resolve([{ name: 'mnist', declared: true } as DatasetView])
      },
      ...api,
    },
  })
  return { view, render, calls, sync }
}

describe('mergeRounds', () => {
  it('keeps a close the stream saw over an older open snapshot', () => {
    const closed = round({ round: 2, status: 'committed' })
    const fetched: RoundView[] = [round({ round: 1 }), round({ round: 2, status: 'open' })]
    expect(mergeRounds([closed], fetched)).toEqual([fetched[0], closed])
    // A snapshot newer than what was seen wins.
    expect(mergeRounds([round({ round: 2, status: 'open' })], [closed])).toEqual([closed])
  })
})

describe('createSync', () => {
  it('on ready, takes the tasks, their rounds, the shown round’s devices and the datasets', async () => {
    const { view, render, calls, sync } = setUp()
    view.deviceDetail = false
    await sync.catchUp([task('a'), task('b')])
    expect([...view.state.tasks.keys()]).toEqual(['a', 'b'])
    expect(calls.rounds.sort()).toEqual(['a', 'b'])
    expect(view.state.rounds.get('a')?.map((r) => r.status)).toEqual(['open'])
    // A reconnection asks again whether the coordinator gives device detail.
    expect(view.deviceDetail).toBe(true)
    expect(calls.devices).toHaveLength(1)
    expect(view.datasets.map((d) => d.name)).toEqual(['mnist'])
    expect(render).toHaveBeenCalled()
  })

  it('stops asking for devices where the coordinator has no such route', async () => {
    let asked = 0
    const { view, sync } = setUp({
      roundDevices: () => {
        asked += 1
        return Promise.resolve(null)
      },
    })
    await sync.catchUp([task('a')])
    expect(view.deviceDetail).toBe(false)
    await sync.refreshDevices()
    expect(asked).toBe(1)
  })

  it('keeps the other tasks when one is deleted during the catch-up', async () => {
    const { view, sync } = setUp({
      rounds: (id) =>
        id === 'gone' ? Promise.reject(new Error('404')) : Promise.resolve([round()]),
    })
    await sync.catchUp([task('a'), task('gone')])
    expect(view.state.rounds.get('a')).toHaveLength(1)
  })

  it('applies events, and refreshes the devices of the shown task at a round change', async () => {
    const { view, calls, sync } = setUp()
    await sync.catchUp([task('a')])
    const before = calls.devices.length
    sync.onEvent({ type: 'round.opened', taskId: 'a', round: round({ round: 2, status: 'open' }) })
    await Promise.resolve()
    expect(view.state.rounds.get('a')?.map((r) => r.round)).toEqual([1, 2])
    expect(calls.devices.slice(before)).toEqual([['a', 2]])
    sync.onEvent({ type: 'device.state', deviceId: 'd', state: 'checked-in' })
    expect(calls.datasets).toBe(2)
  })

  it('reads stream messages, and logs one it cannot read', () => {
    const { view, sync } = setUp()
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    sync.onMessage({
      event: 'message',
      data: JSON.stringify({ type: 'task.created', task: task('x') }),
      id: '1',
    })
    expect(view.state.tasks.has('x')).toBe(true)
    sync.onMessage({ event: 'message', data: '{', id: '2' })
    expect(error).toHaveBeenCalledOnce()
    error.mockRestore()
  })
})
