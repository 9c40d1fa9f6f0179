// A write the coordinator must not give up on: a round's new model, once aggregated, is the work
// of every device that reported. A failing store (a full disk, a folder made read-only) holds
// it in memory and tries again, and /healthz says what fails, until the store takes it.
import type { Clock, TimerHandle } from '../clock/index.ts'
import type { Health } from '../health/index.ts'

export interface RetryDelays {
  /** The wait after the first failure, doubling after each one up to `maxMs`. */
  firstMs: number
  maxMs: number
}

export const DEFAULT_RETRY_DELAYS: RetryDelays = { firstMs: 1000, maxMs: 30_000 }

/** The coordinator stopped while a write was being retried; it was not written. */
export class RetryStopped extends Error {}

export interface RetryOptions extends Partial<RetryDelays> {
  /** Names the write in /healthz and in errors. */
  what: string
  clock: Clock
  health: Health
  /** Aborted when the coordinator stops: the retry ends with RetryStopped. */
  signal: AbortSignal
  /** Hears each failure and the wait before the next attempt. */
  onFailure?: (error: unknown, retryInMs: number) => void
}

/**
 * Runs `write` until it succeeds, waiting longer after each failure, until `signal` aborts or
 * `write` itself throws RetryStopped (what it was writing for is gone).
 */
export async function retryWrite<T>(write: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { what, clock, health, signal, onFailure } = options
  const { firstMs, maxMs } = { ...DEFAULT_RETRY_DELAYS, ...options }
  let delay = firstMs
  try {
    for (;;) {
      if (signal.aborted) throw new RetryStopped(`stopped retrying: ${what}`)
      try {
        return await write()
      } catch (error) {
        if (error instanceof RetryStopped) throw error
        health.failed(what, error)
        onFailure?.(error, delay)
      }
      await wait(clock, delay, signal)
      delay = Math.min(delay * 2, maxMs)
    }
  } finally {
    health.cleared(what)
  }
}

function wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new RetryStopped('stopped while waiting to retry'))
    const stop = () => {
      clock.clearTimeout(timer)
      reject(new RetryStopped('stopped while waiting to retry'))
    }
    const timer: TimerHandle = clock.setTimeout(() => {
      signal.removeEventListener('abort', stop)
      resolve()
    }, ms)
    signal.addEventListener('abort', stop, { once: true })
  })
}
