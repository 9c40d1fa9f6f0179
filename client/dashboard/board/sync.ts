// The event stream and the REST snapshots into the board's view: each event applied as it comes,
// and on every `ready` (the coordinator's stream ids restart with it) what was missed fetched
// again. Asks for a redraw; draws nothing itself.
import type { RoundView, ServerEvent, TaskView } from '../../../shared/protocol/index.ts'
import type { Api } from '../api.ts'
import type { SseMessage } from '../sse.ts'
import { applyEvent, currentRound, setRoundDevices, setRounds, setTasks } from '../state.ts'
import { throttle } from './throttle.ts'
import { shownTask, type BoardView } from './view.ts'

export interface SyncOptions {
  api: Pick<Api, 'rounds' | 'roundDevices' | 'datasets'>
  view: BoardView
  /** Asks for a redraw (at most one per frame). */
  render: () => void
  now: () => number
  /** Injected for tests: how a burst of events is spread out. */
  throttle?: typeof throttle
}

export interface BoardSync {
  /** Reads one message of the event stream into the view. */
  onMessage: (message: SseMessage) => void
  /** On `ready`: the tasks of the snapshot, then each one's rounds, devices and the datasets. */
  catchUp: (tasks: TaskView[]) => Promise<void>
  onEvent: (event: ServerEvent) => void
  /** Fetches the devices of the shown task's current round, where the coordinator gives them. */
  refreshDevices: () => Promise<void>
}

/**
 * A round snapshot fetched while the stream was seen closing it is older than the event: keep what
 * the event said.
 */
export function mergeRounds(
  seen: readonly RoundView[],
  fetched: readonly RoundView[],
): RoundView[] {
  return fetched.map((r) => {
    const known = seen.find((s) => s.round === r.round)
    return known && known.status !== 'open' && r.status === 'open' ? known : r
  })
}

export function createSync({
  api,
  view,
  render,
  now,
  throttle: spread = throttle,
}: SyncOptions): BoardSync {
  const { state } = view

  async function refreshDevices() {
    const task = shownTask(view)
    const round = task && currentRound(state, task.id)
    if (!task || !round || view.deviceDetail === false) return
    try {
      const devices = await api.roundDevices(task.id, round.round)
      view.deviceDetail = devices !== null
      if (devices) setRoundDevices(state, task.id, round.round, devices)
      render()
    } catch {
      // The event stream still tells the story; the next event or reconnection asks again.
    }
  }
  const refreshDevicesSoon = spread(() => void refreshDevices(), 1000)

  async function refreshDatasets() {
    try {
      view.datasets = await api.datasets()
      render()
    } catch {
      // Shown again at the next check-in or reconnection.
    }
  }
  const refreshDatasetsSoon = spread(() => void refreshDatasets(), 5000)

  async function catchUp(tasks: TaskView[]) {
    setTasks(state, tasks)
    view.deviceDetail = null
    render()
    await Promise.all(
      tasks.map(async (task) => {
        try {
          const rounds = await api.rounds(task.id)
          setRounds(state, task.id, mergeRounds(state.rounds.get(task.id) ?? [], rounds))
        } catch {
          // Deleted meanwhile: its task.deleted event follows.
        }
      }),
    )
    render()
    await Promise.all([refreshDevices(), refreshDatasets()])
  }

  function onEvent(event: ServerEvent) {
    const taskId = applyEvent(state, event, now())
    if (event.type === 'device.state' && event.state === 'checked-in') refreshDatasetsSoon()
    if (taskId !== null && taskId === view.selected) {
      if (event.type === 'round.opened' || event.type === 'round.closed') void refreshDevices()
      else if (event.type === 'device.state' && view.deviceDetail) refreshDevicesSoon()
    }
    render()
  }

  function onMessage(message: SseMessage) {
    try {
      if (message.event === 'ready') {
        const { tasks } = JSON.parse(message.data) as { tasks: TaskView[] }
        void catchUp(tasks)
      } else onEvent(JSON.parse(message.data) as ServerEvent)
    } catch (error) {
      console.error('an event the dashboard could not read', message, error)
    }
  }

  return { onMessage, catchUp, onEvent, refreshDevices }
}
