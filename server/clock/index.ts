/**
 * Time, injected: the scheduler reads the time and sets deadlines only through a Clock, so
 * tests run deadlines on virtual time, exactly and fast.
 */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}
export type TimerHandle = { readonly id: number }

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, Math.min(ms, 2 ** 31 - 1))
    return { id: Number(timer[Symbol.toPrimitive]()) }
  },
  clearTimeout(handle) {
    clearTimeout(handle.id)
  },
}

export interface VirtualClock extends Clock {
  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void
  pending(): number
}

export function createVirtualClock(start = Date.UTC(2026, 0, 1)): VirtualClock {
  let now = start
  let nextId = 1
  const timers = new Map<number, { at: number; callback: () => void }>()
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++
      timers.set(id, { at: now + Math.max(0, ms), callback })
      return { id }
    },
    clearTimeout(handle) {
      timers.delete(handle.id)
    },
    advance(ms) {
      const end = now + ms
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
        if (!due) break
        timers.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].callback()
      }
      now = end
    },
    pending: () => timers.size,
  }
}
