import { describe, expect, it } from 'vitest'
import { createVirtualClock } from '../clock/index.ts'
import { createHealth } from '../health/index.ts'
import { retryWrite, RetryStopped } from './retry.ts'

/** Lets the promise callbacks queued so far run. */
const flush = () => new Promise((resolve) => setImmediate(resolve))

function setup() {
  const clock = createVirtualClock(Date.UTC(2026, 0, 1))
  const health = createHealth({ clock })
  const controller = new AbortController()
  return { clock, health, controller }
}

describe('retryWrite', () => {
  it('tries again after 100, 200, 400, 400 ms while the write fails, reports it, then clears it', async () => {
    const { clock, health, controller } = setup()
    const attemptsAt: number[] = []
    const waits: number[] = []
    let failing = true
    const done = retryWrite(
      () => {
        attemptsAt.push(clock.now())
        return failing
          ? Promise.reject(new Error('EROFS: read-only file system'))
          : Promise.resolve('hash')
      },
      {
        what: 'blob store: round 2',
        clock,
        health,
        signal: controller.signal,
        firstMs: 100,
        maxMs: 400,
        onFailure: (_, ms) => waits.push(ms),
      },
    )
    const start = clock.now()
    for (const ms of [100, 200, 400]) {
      await flush()
      clock.advance(ms)
    }
    await flush()
    expect(health.report()).toEqual({
      status: 'degraded',
      failing: [
        {
          what: 'blob store: round 2',
          since: new Date(start).toISOString(),
          lastAt: new Date(start + 700).toISOString(),
          attempts: 4,
          error: 'EROFS: read-only file system',
        },
      ],
    })
    failing = false
    clock.advance(400)
    expect(await done).toBe('hash')
    expect(attemptsAt.map((t) => t - start)).toEqual([0, 100, 300, 700, 1100])
    expect(waits).toEqual([100, 200, 400, 400])
    expect(health.report()).toEqual({ status: 'ok' })
  })

  it('ends with RetryStopped when stopped while waiting, and clears its report', async () => {
    const { clock, health, controller } = setup()
    const done = retryWrite(() => Promise.reject(new Error('ENOSPC')), {
      what: 'w',
      clock,
      health,
      signal: controller.signal,
    })
    await flush()
    expect(health.report().status).toBe('degraded')
    controller.abort()
    await expect(done).rejects.toBeInstanceOf(RetryStopped)
    expect(health.report()).toEqual({ status: 'ok' })
    expect(clock.pending()).toBe(0)
  })

  it('stops at once when the write throws RetryStopped (what it wrote for is gone)', async () => {
    const { clock, health, controller } = setup()
    let attempts = 0
    const done = retryWrite(
      () => {
        attempts++
        return Promise.reject(new RetryStopped('task deleted'))
      },
      { what: 'w', clock, health, signal: controller.signal },
    )
    await expect(done).rejects.toThrow('task deleted')
    expect(attempts).toBe(1)
    expect(health.report()).toEqual({ status: 'ok' })
  })
})
