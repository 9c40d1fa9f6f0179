import type { Context, MiddlewareHandler } from 'hono'
import type { RetryLater } from '../../shared/protocol/index.ts'
import { Busy } from './errors.ts'

/**
 * Device requests the coordinator works on at once. Past it, more only queue behind the store
 * (and behind each other), so a burst of thousands of phones would wait tens of seconds and time
 * out; answered at once instead, they come back spread out.
 */
export const DEFAULT_MAX_IN_FLIGHT = 256

/**
 * How long the event loop may run without a break before device requests are shed. With the
 * embedded store a request runs to its end without yielding (about 4 ms for a check-in), so a
 * burst queues in the sockets rather than in flight: this bound sheds it. Each turn of the loop
 * still admits this much work; the rest is answered at once and comes back later.
 */
export const DEFAULT_MAX_BUSY_MS = 200

export interface ShedOptions {
  maxInFlight?: number
  maxBusyMs?: number
  /** Bounds of the jittered wait a shed device is told (the scheduler's pace-steering bounds). */
  retry?: { minSeconds: number; maxSeconds: number }
  /** True for a request that is never shed (the admin's, on a route devices share). */
  exempt?: (c: Context) => boolean
}

/**
 * Load shedding for the device protocol. `guard()` wraps a device route: past `maxInFlight`
 * device requests in progress, or once the event loop has run `maxBusyMs` without a break, a
 * check-in is answered at once with the protocol's `retry` (pace steering) and any other device
 * request with 503 and Retry-After. `/healthz`, `/metrics` and the admin API never pass through
 * it, so they keep answering under a burst.
 */
export function loadShedder({
  maxInFlight = DEFAULT_MAX_IN_FLIGHT,
  maxBusyMs = DEFAULT_MAX_BUSY_MS,
  retry = { minSeconds: 1, maxSeconds: 10 },
  exempt = () => false,
}: ShedOptions = {}) {
  let inFlight = 0
  // When the loop last got round to its timers: a turn that runs long holds this back.
  let lastTick = performance.now()
  const ticker = setInterval(() => (lastTick = performance.now()), 10)
  ticker.unref()
  const overloaded = () => inFlight >= maxInFlight || performance.now() - lastTick > maxBusyMs
  // Spread the returning devices over the whole retry window, so they do not come back at once.
  const wait = () => retry.minSeconds + Math.random() * (retry.maxSeconds - retry.minSeconds)

  /** `checkin`: answer a shed check-in with `retry` rather than 503. */
  const guard =
    ({ checkin = false } = {}): MiddlewareHandler =>
    async (c, next) => {
      if (overloaded() && !exempt(c)) {
        const seconds = Math.round(wait() * 100) / 100
        if (!checkin)
          throw new Busy(
            'busy',
            'the coordinator is busy: try again after the Retry-After seconds',
            seconds,
          )
        c.header('Retry-After', String(Math.ceil(seconds)))
        return c.json({
          type: 'retry',
          retryAfterSeconds: seconds,
          reason: 'the coordinator is busy',
        } satisfies RetryLater)
      }
      inFlight += 1
      try {
        await next()
      } finally {
        inFlight -= 1
      }
    }
  return { guard, inFlight: () => inFlight, stop: () => clearInterval(ticker) }
}

export type LoadShedder = ReturnType<typeof loadShedder>
