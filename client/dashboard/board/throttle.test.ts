import { describe, expect, it } from 'vitest'
import { throttle } from './throttle.ts'

describe('throttle', () => {
  it('runs a burst once, and waits out the interval after a run', () => {
    let now = 10_000
    const timers: { at: number; fire: () => void }[] = []
    let runs = 0
    const soon = throttle(() => (runs += 1), 1000, {
      clock: () => now,
      setTimer: (fire, wait) => timers.push({ at: now + wait, fire }),
    })
    soon()
    soon()
    soon()
    // The first call runs at once (as a timer), and only once for the burst.
    expect(timers.map((t) => t.at)).toEqual([10_000])
    timers.shift()!.fire()
    expect(runs).toBe(1)
    now = 10_300
    soon()
    soon()
    // The last run was at 10,000: the next waits until 11,000.
    expect(timers.map((t) => t.at)).toEqual([11_000])
    now = 11_000
    timers.shift()!.fire()
    expect(runs).toBe(2)
    now = 15_000
    soon()
    expect(timers.map((t) => t.at)).toEqual([15_000])
  })
})
