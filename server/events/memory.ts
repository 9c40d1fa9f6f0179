import type { EventBus, StampedEvent } from './types.ts'

/**
 * In-process publish/subscribe, for one coordinator on its own. Delivery is synchronous, so a
 * subscriber never misses an event between since() and subscribe(); ids restart with the process,
 * so subscribe()'s `after` (an id from some earlier process, maybe) is not a filter here.
 */
export function createEventBus({ replay = 1000 } = {}): EventBus {
  const listeners = new Set<(e: StampedEvent) => void>()
  const recent: StampedEvent[] = []
  let nextId = 1
  return {
    publish(event) {
      const stamped = { id: nextId++, event }
      recent.push(stamped)
      if (recent.length > replay) recent.shift()
      for (const listener of listeners) listener(stamped)
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    since: (lastId) => recent.filter((e) => e.id > lastId),
  }
}
