import type { RoundView, TaskView } from './views.ts'

export type DeviceState =
  'checked-in' | 'assigned' | 'downloaded' | 'reported' | 'late' | 'rejected'

/** Server-sent events on GET /api/v1/events; the SSE `event:` field is the `type`. */
export type ServerEvent =
  | { type: 'task.created'; task: TaskView }
  | { type: 'task.updated'; task: TaskView }
  | { type: 'task.deleted'; taskId: string }
  | { type: 'round.opened'; taskId: string; round: RoundView }
  | { type: 'round.updated'; taskId: string; round: RoundView }
  | { type: 'round.closed'; taskId: string; round: RoundView }
  | { type: 'device.state'; deviceId: string; state: DeviceState; taskId?: string; round?: number }

export type ServerEventType = ServerEvent['type']
