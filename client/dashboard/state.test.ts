import { describe, expect, it } from 'vitest'
import type { TaskView } from '../../shared/protocol/index.ts'
import { round } from './fixtures.ts'
import {
  applyEvent,
  createState,
  currentRound,
  roundDevices,
  setRoundDevices,
  setRounds,
  setTasks,
} from './state.ts'

const task = (id: string, status: TaskView['status'] = 'running') =>
  ({ id, name: id, status, round: 1, committedRounds: 0 }) as TaskView

describe('applyEvent', () => {
  it('keeps tasks and rounds current, in round order', () => {
    const state = createState()
    setTasks(state, [task('t')])
    applyEvent(
      state,
      { type: 'round.opened', taskId: 't', round: round({ round: 2, status: 'open' }) },
      0,
    )
    applyEvent(state, { type: 'round.closed', taskId: 't', round: round({ round: 1 }) }, 0)
    applyEvent(
      state,
      {
        type: 'round.updated',
        taskId: 't',
        round: round({ round: 2, status: 'open', selected: 9 }),
      },
      0,
    )
    expect(state.rounds.get('t')!.map((r) => [r.round, r.selected])).toEqual([
      [1, 4],
      [2, 9],
    ])
    expect(currentRound(state, 't')?.round).toBe(2)
    expect(applyEvent(state, { type: 'task.updated', task: task('t', 'paused') }, 0)).toBe('t')
    expect(state.tasks.get('t')?.status).toBe('paused')
    applyEvent(state, { type: 'task.deleted', taskId: 't' }, 0)
    expect(state.tasks.size).toBe(0)
    expect(state.rounds.has('t')).toBe(false)
  })

  it("moves a task's round on when its next round opens, so the list and the panel agree", () => {
    const state = createState()
    // As the coordinator announces a new task: before its first round opened.
    setTasks(state, [{ ...task('t'), round: 0 }])
    applyEvent(
      state,
      { type: 'round.opened', taskId: 't', round: round({ round: 1, status: 'open' }) },
      0,
    )
    expect(state.tasks.get('t')?.round).toBe(1)
    expect(currentRound(state, 't')?.round).toBe(1)
    // An older round's event never moves it back.
    applyEvent(state, { type: 'round.opened', taskId: 't', round: round({ round: 1 }) }, 0)
    setTasks(state, [{ ...task('t'), round: 3 }])
    applyEvent(state, { type: 'round.opened', taskId: 't', round: round({ round: 2 }) }, 0)
    expect(state.tasks.get('t')?.round).toBe(3)
  })

  it('follows a device through a round: assigned, downloaded, then its answer', () => {
    const state = createState()
    const at = (state_: 'assigned' | 'reported' | 'late', taskId: string, now: number) =>
      applyEvent(
        state,
        { type: 'device.state', deviceId: 'd1', state: state_, taskId, round: 3 },
        now,
      )
    expect(
      applyEvent(state, { type: 'device.state', deviceId: 'd1', state: 'checked-in' }, 1),
    ).toBeNull()
    at('assigned', 'a', 10)
    at('assigned', 'b', 20)
    // The download names no task: it belongs to the latest assignment still waiting for a model.
    expect(
      applyEvent(state, { type: 'device.state', deviceId: 'd1', state: 'downloaded' }, 30),
    ).toBe('b')
    expect(roundDevices(state, 'b', 3)[0]).toMatchObject({
      state: 'downloaded',
      assignedAt: 20,
      downloadedAt: 30,
    })
    expect(roundDevices(state, 'a', 3)[0]).toMatchObject({ state: 'assigned', downloadedAt: null })
    at('reported', 'b', 40)
    expect(roundDevices(state, 'b', 3)[0]).toMatchObject({ state: 'reported', answeredAt: 40 })
    // An answer from a device the dashboard never saw assigned still shows.
    applyEvent(
      state,
      { type: 'device.state', deviceId: 'd2', state: 'late', taskId: 'b', round: 3 },
      50,
    )
    expect(roundDevices(state, 'b', 3).map((d) => [d.deviceId, d.state, d.assignedAt])).toEqual([
      ['d1', 'reported', 20],
      ['d2', 'late', null],
    ])
  })

  it('drops what a fresh snapshot no longer lists', () => {
    const state = createState()
    setTasks(state, [task('gone'), task('kept')])
    setRounds(state, 'gone', [round()])
    applyEvent(
      state,
      { type: 'device.state', deviceId: 'd', state: 'assigned', taskId: 'gone', round: 1 },
      0,
    )
    setTasks(state, [task('kept')])
    expect([...state.tasks.keys()]).toEqual(['kept'])
    expect(state.rounds.size).toBe(0)
    expect(state.devices.size).toBe(0)
  })

  it('forgets the devices of rounds long past when a round opens', () => {
    const state = createState()
    for (const r of [1, 2, 3, 4])
      applyEvent(
        state,
        { type: 'device.state', deviceId: 'd', state: 'assigned', taskId: 't', round: r },
        0,
      )
    applyEvent(
      state,
      { type: 'round.opened', taskId: 't', round: round({ round: 5, status: 'open' }) },
      0,
    )
    expect([...state.devices.keys()]).toEqual(['t#2', 't#3', 't#4'])
  })
})

describe('setRoundDevices', () => {
  it('takes the coordinator record, keeping a download only the events saw', () => {
    const state = createState()
    applyEvent(
      state,
      { type: 'device.state', deviceId: 'd1', state: 'assigned', taskId: 't', round: 1 },
      5,
    )
    applyEvent(state, { type: 'device.state', deviceId: 'd1', state: 'downloaded' }, 7)
    setRoundDevices(state, 't', 1, [
      {
        deviceId: 'd1',
        label: 'Pixel',
        backend: 'wasm',
        tier: 'medium',
        state: 'assigned',
        assignedAt: '2026-11-25T00:00:00.000Z',
        downloadedAt: null,
        answeredAt: null,
        examples: 0,
        bytesUp: 0,
      },
      {
        deviceId: 'd2',
        label: null,
        backend: 'cpu',
        tier: 'slow',
        state: 'reported',
        assignedAt: '2026-11-25T00:00:00.000Z',
        downloadedAt: '2026-11-25T00:00:01.000Z',
        answeredAt: '2026-11-25T00:00:09.000Z',
        examples: 40,
        bytesUp: 1000,
      },
    ])
    const [d1, d2] = roundDevices(state, 't', 1)
    expect(d1).toMatchObject({
      state: 'downloaded',
      downloadedAt: 7,
      label: 'Pixel',
      tier: 'medium',
    })
    expect(d2).toMatchObject({
      state: 'reported',
      answeredAt: Date.parse('2026-11-25T00:00:09.000Z'),
    })
  })
})
