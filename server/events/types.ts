import type { ServerEvent } from '../../shared/protocol/index.ts'

export interface StampedEvent {
  id: number
  event: ServerEvent
}

/**
 * Publish/subscribe for server events, with a short replay buffer so an event stream that
 * reconnects with Last-Event-ID catches up on what it missed.
 */
export interface EventBus {
  /** Fire and forget: events are delivered in the order they were published. */
  publish(event: ServerEvent): void
  /**
   * Calls `listener` with every event delivered from now on, skipping those with an id up to
   * `after` where ids outlive the process (a shared bus): a stream that resumed at `after` on
   * another replica must not see an event twice.
   */
  subscribe(listener: (e: StampedEvent) => void, after?: number): () => void
  since(lastId: number): StampedEvent[]
}
