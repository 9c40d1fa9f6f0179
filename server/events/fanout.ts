import type { StampedEvent } from './types.ts'

/**
 * The local end of a shared bus: events handed in, in id order, go to every subscriber (past
 * the id it asked to start after) and into the newest `replay` kept for since().
 */
export function fanout({ replay, log }: { replay: number; log: (message: string) => void }) {
  const listeners = new Map<(e: StampedEvent) => void, number>()
  const recent: StampedEvent[] = []
  const waiters: { id: number; resolve: () => void }[] = []
  let last = 0
  const passed = (id: number) => {
    last = Math.max(last, id)
    while (waiters.length > 0 && waiters[0]!.id <= last) waiters.shift()!.resolve()
  }
  return {
    /** The newest id handed in (delivered or skipped). */
    last: () => last,
    deliver: (stamped: StampedEvent) => {
      if (stamped.id <= last) return
      recent.push(stamped)
      if (recent.length > replay) recent.splice(0, recent.length - replay)
      for (const [listener, after] of listeners)
        if (stamped.id > after)
          try {
            listener(stamped)
          } catch (error) {
            log(`events: a subscriber failed on event ${stamped.id}: ${(error as Error).message}`)
          }
      passed(stamped.id)
    },
    /** Passes an id that has no event to deliver (a row that is not an event). */
    skip: passed,
    subscribe: (listener: (e: StampedEvent) => void, after = 0) => {
      // A Map keyed by the function: the same listener twice is delivered to once.
      listeners.set(listener, after)
      return () => listeners.delete(listener)
    },
    since: (lastId: number) => recent.filter((e) => e.id > lastId),
    /** Resolves once `id` has been handed in. */
    until: (id: number) =>
      id <= last
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ id, resolve })),
    /** Lets every waiter go (the bus is closing). */
    release: () => waiters.splice(0).forEach((w) => w.resolve()),
  }
}
