export type { EventBus, StampedEvent } from './types.ts'
export { createEventBus } from './memory.ts'
export {
  postgresEventBus,
  type PostgresEventBus,
  type PostgresEventBusOptions,
} from './postgres.ts'
