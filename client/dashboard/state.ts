// What the dashboard knows: tasks, their rounds, and the devices of each round, kept current
// from the REST snapshots and the event stream. Pure: no DOM, no fetch.
import type {
  RoundDeviceView,
  RoundView,
  ServerEvent,
  SpeedTier,
  TaskView,
} from '../../shared/protocol/index.ts'

/** Where one selected device stands in one round, as the dashboard saw it. */
export interface DeviceTrack {
  deviceId: string
  label: string | null
  backend: RoundDeviceView['backend']
  tier: SpeedTier
  /** `downloaded`: it fetched the round's model and is training. */
  state: 'assigned' | 'downloaded' | 'reported' | 'late' | 'rejected'
  /** Milliseconds since the epoch; null where the dashboard did not see it happen. */
  assignedAt: number | null
  downloadedAt: number | null
  answeredAt: number | null
  examples: number | null
  bytesUp: number | null
}

export interface DashboardState {
  tasks: Map<string, TaskView>
  /** Per task, in round order. */
  rounds: Map<string, RoundView[]>
  /** Per task and round (`roundKey`), per device. */
  devices: Map<string, Map<string, DeviceTrack>>
}

export const roundKey = (taskId: string, round: number) => `${taskId}#${round}`

export function createState(): DashboardState {
  return { tasks: new Map(), rounds: new Map(), devices: new Map() }
}

/** Replaces the task list with a snapshot (the `ready` event, GET /tasks): deleted ones go. */
export function setTasks(state: DashboardState, tasks: TaskView[]): void {
  state.tasks = new Map(tasks.map((t) => [t.id, t]))
  for (const id of state.rounds.keys()) if (!state.tasks.has(id)) forgetTask(state, id)
}

export function setRounds(state: DashboardState, taskId: string, rounds: RoundView[]): void {
  state.rounds.set(
    taskId,
    [...rounds].sort((a, b) => a.round - b.round),
  )
}

function upsertRound(state: DashboardState, taskId: string, round: RoundView): void {
  const list = state.rounds.get(taskId) ?? []
  const at = list.findIndex((r) => r.round === round.round)
  if (at === -1) setRounds(state, taskId, [...list, round])
  else list[at] = round
  if (!state.rounds.has(taskId)) state.rounds.set(taskId, list)
}

function forgetTask(state: DashboardState, taskId: string): void {
  state.tasks.delete(taskId)
  state.rounds.delete(taskId)
  for (const key of state.devices.keys())
    if (key.startsWith(`${taskId}#`)) state.devices.delete(key)
}

/** Rounds whose devices are kept per task: a dashboard left open for days stays small. */
const KEEP_DEVICE_ROUNDS = 3

function forgetDevicesBefore(state: DashboardState, taskId: string, round: number): void {
  for (const key of state.devices.keys())
    if (key.startsWith(`${taskId}#`) && Number(key.slice(taskId.length + 1)) < round)
      state.devices.delete(key)
}

const blankTrack = (deviceId: string): DeviceTrack => ({
  deviceId,
  label: null,
  backend: null,
  tier: 'unknown',
  state: 'assigned',
  assignedAt: null,
  downloadedAt: null,
  answeredAt: null,
  examples: null,
  bytesUp: null,
})

function devicesOf(state: DashboardState, taskId: string, round: number) {
  const key = roundKey(taskId, round)
  let devices = state.devices.get(key)
  if (!devices) state.devices.set(key, (devices = new Map<string, DeviceTrack>()))
  return devices
}

/** The open round of a task, if any. */
export function openRound(state: DashboardState, taskId: string): RoundView | undefined {
  return state.rounds.get(taskId)?.findLast((r) => r.status === 'open')
}

/** The round to show for a task: the open one, else the latest. */
export function currentRound(state: DashboardState, taskId: string): RoundView | undefined {
  return openRound(state, taskId) ?? state.rounds.get(taskId)?.at(-1)
}

/**
 * Applies one event. `now` stamps device transitions (events carry no time of their own).
 * Returns the task it concerned, if any, so the page redraws only what changed.
 */
export function applyEvent(state: DashboardState, event: ServerEvent, now: number): string | null {
  switch (event.type) {
    case 'task.created':
    case 'task.updated':
      state.tasks.set(event.task.id, event.task)
      return event.task.id
    case 'task.deleted':
      forgetTask(state, event.taskId)
      return event.taskId
    case 'round.opened': {
      upsertRound(state, event.taskId, event.round)
      // The coordinator announces a new task before its first round opens: the task's own
      // round number would lag the round shown until the next task.updated.
      const task = state.tasks.get(event.taskId)
      if (task && task.round < event.round.round)
        state.tasks.set(task.id, { ...task, round: event.round.round })
      forgetDevicesBefore(state, event.taskId, event.round.round - KEEP_DEVICE_ROUNDS)
      return event.taskId
    }
    case 'round.updated':
    case 'round.closed':
      upsertRound(state, event.taskId, event.round)
      return event.taskId
    case 'device.state':
      return applyDeviceState(state, event, now)
  }
}

function applyDeviceState(
  state: DashboardState,
  event: Extract<ServerEvent, { type: 'device.state' }>,
  now: number,
): string | null {
  if (event.state === 'checked-in') return null
  if (event.state === 'downloaded') {
    // Downloads name no task: the device's latest assignment still waiting for its model is it.
    let latest: { track: DeviceTrack; taskId: string } | null = null
    for (const [key, devices] of state.devices) {
      const track = devices.get(event.deviceId)
      if (track?.state !== 'assigned' || track.downloadedAt !== null) continue
      if (!latest || (track.assignedAt ?? 0) >= (latest.track.assignedAt ?? 0))
        latest = { track, taskId: key.slice(0, key.lastIndexOf('#')) }
    }
    if (!latest) return null
    latest.track.state = 'downloaded'
    latest.track.downloadedAt = now
    return latest.taskId
  }
  if (event.taskId === undefined || event.round === undefined) return null
  const devices = devicesOf(state, event.taskId, event.round)
  const track = devices.get(event.deviceId) ?? blankTrack(event.deviceId)
  devices.set(event.deviceId, track)
  if (event.state === 'assigned') {
    track.assignedAt ??= now
  } else {
    track.state = event.state
    track.answeredAt ??= now
  }
  return event.taskId
}

/**
 * The coordinator's own record of a round's devices (GET …/rounds/:round/devices) replaces
 * what the events told us; a download seen in the events is kept where the record has none.
 */
export function setRoundDevices(
  state: DashboardState,
  taskId: string,
  round: number,
  views: RoundDeviceView[],
): void {
  const before = state.devices.get(roundKey(taskId, round))
  const time = (iso: string | null) => (iso === null ? null : Date.parse(iso))
  const devices = new Map<string, DeviceTrack>()
  for (const v of views) {
    const downloadedAt = time(v.downloadedAt) ?? before?.get(v.deviceId)?.downloadedAt ?? null
    devices.set(v.deviceId, {
      deviceId: v.deviceId,
      label: v.label,
      backend: v.backend,
      tier: v.tier,
      state: v.state === 'assigned' && downloadedAt !== null ? 'downloaded' : v.state,
      assignedAt: time(v.assignedAt),
      downloadedAt,
      answeredAt: time(v.answeredAt),
      examples: v.examples,
      bytesUp: v.bytesUp,
    })
  }
  state.devices.set(roundKey(taskId, round), devices)
}

export function roundDevices(state: DashboardState, taskId: string, round: number): DeviceTrack[] {
  return [...(state.devices.get(roundKey(taskId, round))?.values() ?? [])]
}
