import { describe, expect, it } from 'vitest'
import type { DeviceRecord } from '../store/index.ts'
import { ACTIVE_WINDOW_MS, countDevices, isActive, summarizeDatasets } from './index.ts'

const NOW = Date.UTC(2026, 11, 1)
const device = (id: string, lastSeenAt: number, datasets: DeviceRecord['datasets']) =>
  ({
    id,
    tokenHash: id,
    label: null,
    capabilities: null,
    datasets,
    enrolledAt: 0,
    lastSeenAt,
  }) satisfies DeviceRecord

describe('device activity', () => {
  it('counts a device active up to the window and gone one millisecond past it', () => {
    expect(isActive({ lastSeenAt: NOW - ACTIVE_WINDOW_MS }, NOW)).toBe(true)
    expect(isActive({ lastSeenAt: NOW - ACTIVE_WINDOW_MS - 1 }, NOW)).toBe(false)
  })

  it('reports active devices apart from enrolled ones, examples of the active only', () => {
    const gone = NOW - ACTIVE_WINDOW_MS - 60_000
    const devices = [
      device('a', NOW, [{ name: 'mnist', examples: 10, labels: [4, 6] }]),
      device('b', NOW - 1000, [
        { name: 'mnist', examples: 5, labels: [0, 2, 3] },
        { name: 'crops', examples: 2, labels: [2] },
      ]),
      device('c', gone, [{ name: 'mnist', examples: 100, labels: [50, 50] }]),
      device('d', gone, [{ name: 'zebra', examples: 7, labels: [7] }]),
    ]
    expect(countDevices(devices, NOW)).toEqual({ enrolled: 4, active: 2 })
    expect(summarizeDatasets(devices, NOW)).toEqual([
      { name: 'crops', devices: { active: 1, enrolled: 1 }, examples: 2, labels: [2] },
      { name: 'mnist', devices: { active: 2, enrolled: 3 }, examples: 15, labels: [4, 8, 3] },
      { name: 'zebra', devices: { active: 0, enrolled: 1 }, examples: 0, labels: [] },
    ])
  })
})
