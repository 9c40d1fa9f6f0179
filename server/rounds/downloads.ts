import type { DeviceRecord } from '../store/index.ts'
import { addBytes } from './admission.ts'
import type { Core } from './live.ts'

/** Model downloads: the step between a device's selection and its upload. */
export function createDownloads(core: Core) {
  const { clock, events } = core
  /**
   * A device downloaded model `hash`: where that is the base of an open round it was given, the
   * round counts the bytes sent (by `encoding` too) and the device is now training.
   */
  return function downloaded(
    device: DeviceRecord,
    hash: string,
    bytes: number,
    /** What the model went as: `float32` (the model's own container), or a compressed one. */
    encoding = 'float32',
  ): void {
    let counted = false
    for (const live of core.tasks.values()) {
      const round = live.open
      if (!round || round.record.baseModel !== hash) continue
      if (round.devices.get(device.id) !== 'assigned') continue
      counted = true
      round.record.bytesDown += bytes
      addBytes(round.record.bytesDownByEncoding, encoding, bytes)
      const key = { taskId: live.record.id, round: round.record.round, deviceId: device.id }
      core.assignmentMoved(live, round, key, 'downloaded', { downloadedAt: clock.now() })
    }
    if (!counted) events.publish({ type: 'device.state', deviceId: device.id, state: 'downloaded' })
  }
}
