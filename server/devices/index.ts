import type { DatasetSummary } from '../../shared/protocol/index.ts'
import type { DeviceRecord } from '../store/index.ts'

/**
 * A device is active while it was seen within this window: any authenticated request (check-in,
 * model download, upload, secure-aggregation message) counts. A device checks in every few
 * seconds while it waits and sends requests through a round, so ten minutes outlasts a round's
 * training; a device gone that long is not coming back for the next round.
 */
export const ACTIVE_WINDOW_MS = 10 * 60_000

/** A request writes `lastSeenAt` only once it is this stale: a write a minute, not a request. */
export const SEEN_WRITE_INTERVAL_MS = 60_000

export const isActive = (device: Pick<DeviceRecord, 'lastSeenAt'>, now: number) =>
  now - device.lastSeenAt <= ACTIVE_WINDOW_MS

/** Enrolled and active devices: enrolment is open, so most enrolled devices may be long gone. */
export function countDevices(devices: readonly DeviceRecord[], now: number) {
  return { enrolled: devices.length, active: devices.filter((d) => isActive(d, now)).length }
}

/**
 * What devices declare of each dataset (GET /api/v1/datasets): devices holding it, active and
 * enrolled; examples and the label histogram of the active ones only (what a round can use).
 */
export function summarizeDatasets(devices: readonly DeviceRecord[], now: number): DatasetSummary[] {
  const byName = new Map<string, DatasetSummary>()
  for (const device of devices) {
    const active = isActive(device, now)
    for (const held of device.datasets) {
      const entry = byName.get(held.name) ?? {
        name: held.name,
        devices: { active: 0, enrolled: 0 },
        examples: 0,
        labels: [],
      }
      entry.devices.enrolled += 1
      if (active) {
        entry.devices.active += 1
        entry.examples += held.examples
        held.labels.forEach((n, label) => (entry.labels[label] = (entry.labels[label] ?? 0) + n))
      }
      byName.set(held.name, entry)
    }
  }
  return [...byName.values()]
    .map((d) => ({ ...d, labels: Array.from(d.labels, (n) => n ?? 0) }))
    .sort((a, b) => a.name.localeCompare(b.name))
}
