import type { ServerEvent } from '../../shared/protocol/index.ts'

export interface StampedEvent {
  id: number
  event: ServerEvent
}

/**
 * In-process publish/subscribe for server events, with a short replay buffer so an event
 * stream that reconnects with Last-Event-ID catches up on what it missed.
 */
export interface EventBus {
  publish(event: ServerEvent): void
  subscribe(listener: (e: StampedEvent) => void): () => void
  since(lastId: number): StampedEvent[]
}

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
