import { describe, expect, it } from 'vitest'
import { countdown, duration, roundProgress } from './progress.ts'
import { round } from './fixtures.ts'
import type { DeviceTrack } from './state.ts'

const track = (deviceId: string, state: DeviceTrack['state']): DeviceTrack => ({
  deviceId,
  label: null,
  backend: null,
  tier: 'unknown',
  state,
  assignedAt: 0,
  downloadedAt: state === 'assigned' ? null : 1,
  answeredAt: null,
  examples: null,
  bytesUp: null,
})

describe('roundProgress', () => {
  const open = round({
    status: 'open',
    selected: 6,
    reported: 2,
    rejected: 1,
    late: 0,
    dropped: 0,
    closedAt: null,
  })

  it('splits the devices still out into downloading and training by what was seen', () => {
    const devices = [
      track('a', 'assigned'),
      track('b', 'downloaded'),
      track('c', 'downloaded'),
      track('d', 'reported'),
    ]
    expect(roundProgress(open, devices)).toEqual({
      selected: 6,
      downloading: 1,
      training: 2,
      reported: 2,
      late: 0,
      dropped: 0,
      rejected: 1,
    })
  })

  it('counts devices it never saw as downloading, and never more training than are out', () => {
    expect(roundProgress(open, [])).toMatchObject({ downloading: 3, training: 0 })
    const many = ['a', 'b', 'c', 'd', 'e'].map((id) => track(id, 'downloaded'))
    expect(roundProgress(open, many)).toMatchObject({ downloading: 0, training: 3 })
  })

  it('shows the dropped of a closed round and nobody still out', () => {
    const closed = round({
      status: 'committed',
      selected: 5,
      reported: 3,
      rejected: 0,
      late: 1,
      dropped: 2,
    })
    expect(roundProgress(closed, [track('a', 'downloaded')])).toEqual({
      selected: 5,
      downloading: 0,
      training: 0,
      reported: 3,
      late: 1,
      dropped: 2,
      rejected: 0,
    })
  })
})

describe('countdown', () => {
  const now = Date.parse('2026-11-25T00:01:00.000Z')
  it('counts down to the deadline, then says it passed', () => {
    const open = round({ status: 'open', closedAt: null, deadlineAt: '2026-11-25T00:02:05.000Z' })
    expect(countdown(open, now)).toBe('1:05 left')
    expect(countdown(open, Date.parse('2026-11-25T00:02:05.000Z'))).toBe(
      'past the deadline, closing',
    )
  })
  it('explains a round without a deadline yet, and closed rounds', () => {
    expect(countdown(round({ status: 'open', deadlineAt: null, closedAt: null }), now)).toBe(
      'the deadline starts with the first device',
    )
    expect(
      countdown(round({ status: 'open', deadlineAt: null, closedAt: null }), now, { paused: true }),
    ).toBe('paused: waits for resume')
    expect(countdown(round({ status: 'abandoned' }), now)).toBe('abandoned')
  })
  it('formats durations', () => {
    expect(duration(500)).toBe('0:01')
    expect(duration(61_000)).toBe('1:01')
    expect(duration(3_723_000)).toBe('1:02:03')
  })
})
