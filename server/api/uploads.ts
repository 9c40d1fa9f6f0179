import type { MiddlewareHandler } from 'hono'
import type { DeviceEnv } from './auth.ts'
import { Busy } from './errors.ts'

/** How many uploads the coordinator reads at once: each holds up to one update in memory. */
export interface UploadLimits {
  /**
   * Per device. Two, not one: a phone whose connection broke may send again while the
   * coordinator still waits on the first body.
   */
  perDevice: number
  /** In all: bounds the memory held by bodies in flight (each at most one update). */
  total: number
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { perDevice: 2, total: 32 }

/**
 * Admits an upload only while the device and the coordinator are under their bounds; past them,
 * answered at once, before a byte of the body is read. A device past its own bound hears 429
 * (it is the one sending too much); past the global bound, 503 (the coordinator is busy), which
 * an honest phone retries after Retry-After and keeps its update meanwhile.
 */
export function uploadGate({
  perDevice = DEFAULT_UPLOAD_LIMITS.perDevice,
  total = DEFAULT_UPLOAD_LIMITS.total,
}: Partial<UploadLimits> = {}) {
  const byDevice = new Map<string, number>()
  let open = 0
  const gate: MiddlewareHandler<DeviceEnv> = async (c, next) => {
    const id = c.get('device').id
    const mine = byDevice.get(id) ?? 0
    if (mine >= perDevice)
      throw new Busy(
        'too_many_uploads',
        `this device already has ${mine} upload${mine === 1 ? '' : 's'} in progress (at most ${perDevice}): wait for ${mine === 1 ? 'it' : 'them'} to finish`,
        5,
      )
    if (open >= total)
      throw new Busy(
        'busy',
        `the coordinator is reading ${open} uploads already: send again after the Retry-After seconds`,
        1 + Math.floor(Math.random() * 5),
      )
    byDevice.set(id, mine + 1)
    open += 1
    try {
      await next()
    } finally {
      open -= 1
      const left = (byDevice.get(id) ?? 1) - 1
      if (left > 0) byDevice.set(id, left)
      else byDevice.delete(id)
    }
  }
  return {
    gate,
    /** Uploads being read now: a gauge for /metrics, and what tests watch drain. */
    open: () => open,
  }
}

export type UploadGate = ReturnType<typeof uploadGate>
