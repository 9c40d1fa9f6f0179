// What the board says in words: the connection, the task's error line, the timeline's note, and
// the lines after creating a task or applying new settings. Pure, so each wording is tested.
import type { TaskView } from '../../../shared/protocol/index.ts'
import type { StreamStatus } from '../sse.ts'

const CONNECTION_WORDS: Record<StreamStatus['state'], string> = {
  connecting: 'Connecting…',
  live: 'Live',
  waiting: 'Reconnecting…',
  unauthorized: 'Token refused',
  stopped: 'Not connected',
}

/** The header's connection badge. */
export const connectionText = (status: StreamStatus): string =>
  status.state === 'waiting'
    ? `Reconnecting in ${Math.ceil(status.retryInMs / 1000)} s`
    : CONNECTION_WORDS[status.state]

/** The task card's error line ('' when none); a failed task says so first. */
export const taskErrorText = (task: TaskView): string =>
  !task.error ? '' : task.status === 'failed' ? `Failed: ${task.error}` : task.error

/** The pause button: a paused task resumes, and so does a failed one, from its last model. */
export function pauseControl(task: TaskView): { label: 'Pause' | 'Resume'; disabled: boolean } {
  const steerable = task.status === 'running' || task.status === 'paused'
  return {
    label: task.status === 'paused' || task.status === 'failed' ? 'Resume' : 'Pause',
    disabled: !steerable && task.status !== 'failed',
  }
}

/** Whether the settings form applies: only a task that still runs rounds takes new ones. */
export const steerable = (task: TaskView): boolean =>
  task.status === 'running' || task.status === 'paused'

/** The note under the round's timeline, from how many devices it shows and what the coordinator offers. */
export function timelineNote(devices: number, deviceDetail: boolean | null): string {
  if (devices > 0)
    return deviceDetail === false
      ? 'This coordinator gives no per-device detail: showing what the event stream saw since the dashboard connected.'
      : ''
  return deviceDetail === false
    ? 'No per-device detail from this coordinator, and no device has moved since the dashboard connected.'
    : 'No device selected in this round yet.'
}

/** Said after a task is created. */
export const createdText = (task: TaskView): string =>
  `Created “${task.name}”. ${task.mode === 'async' ? 'Version' : 'Round'} 1 is open for devices.`

/** Said beside the settings button once applied: the change shows nowhere else until a round opens. */
export const appliedText = (task: TaskView): string =>
  task.mode === 'async'
    ? `Applied. From version ${task.round + 1}, each device has ${task.rounds.deadlineSeconds} s.`
    : `Applied. From round ${task.round + 1}: deadline ${task.rounds.deadlineSeconds} s, ` +
      `${task.rounds.clientsPerRound} devices per round; round ${task.round} keeps its own.`
