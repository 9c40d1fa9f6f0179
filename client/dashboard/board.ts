// The board once connected: the state fed by the event stream and the REST snapshots, drawn
// into the page, and the steering controls. One render per animation frame, however many events.
import type { ServerEvent, TaskView } from '../../shared/protocol/index.ts'
import { byId } from '../ui/dom.ts'
import { ApiError, errorText, type Api, type DatasetView } from './api.ts'
import { createCharts, type Charts } from './charts/index.ts'
import { renderConfusion } from './confusion.ts'
import { setUpCreateForm } from './create-form.ts'
import { renderDatasets } from './datasets.ts'
import { renderFairness } from './fairness.ts'
import { clearIssues, showIssues } from './form-errors.ts'
import { setUpJoin } from './join.ts'
import { renderRoundModels } from './round-models.ts'
import { renderCountdown, renderRound } from './round-view.ts'
import { connectEventStream, type StreamStatus } from './sse.ts'
import {
  applyEvent,
  createState,
  currentRound,
  roundDevices,
  setRoundDevices,
  setRounds,
  setTasks,
} from './state.ts'
import { setUpTaskActions } from './task-actions.ts'
import { taskFacts } from './task-facts.ts'
import { readTaskForm } from './task-form.ts'
import { renderTaskList, statusLabel } from './tasks.ts'
import { renderTimeline } from './timeline.ts'

export interface BoardOptions {
  api: Api
  token: string
  onUnauthorized: () => void
  now?: () => number
}

/** Calls `run` at most once per `ms`, the last call always honoured. */
function throttle(run: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null
  let last = 0
  return () => {
    if (timer) return
    const wait = Math.max(0, last + ms - Date.now())
    timer = setTimeout(() => {
      timer = null
      last = Date.now()
      run()
    }, wait)
  }
}

/** Starts the board; returns a function that stops it (the event stream and the timers). */
export function startBoard(
  doc: Document,
  { api, token, onUnauthorized, now = Date.now }: BoardOptions,
) {
  const el = {
    connection: byId(doc, 'connection', HTMLElement),
    taskList: byId(doc, 'task-list', HTMLUListElement),
    noTasks: byId(doc, 'no-tasks', HTMLElement),
    datasetNames: byId(doc, 'dataset-names', HTMLDataListElement),
    datasets: byId(doc, 'datasets', HTMLUListElement),
    datasetsSummary: byId(doc, 'datasets-summary', HTMLElement),
    noTask: byId(doc, 'no-task', HTMLElement),
    task: byId(doc, 'task', HTMLElement),
    taskTitle: byId(doc, 'task-title', HTMLElement),
    taskStatus: byId(doc, 'task-status', HTMLElement),
    taskPurpose: byId(doc, 'task-purpose', HTMLElement),
    taskFacts: byId(doc, 'task-facts', HTMLElement),
    taskError: byId(doc, 'task-error', HTMLElement),
    taskMessage: byId(doc, 'task-message', HTMLElement),
    pause: byId(doc, 'pause', HTMLButtonElement),
    round: byId(doc, 'round', HTMLElement),
    roundParts: {
      title: byId(doc, 'round-word', HTMLElement),
      number: byId(doc, 'round-number', HTMLElement),
      countdown: byId(doc, 'countdown', HTMLElement),
      summary: byId(doc, 'round-summary', HTMLElement),
      bar: byId(doc, 'stage-bar', HTMLElement),
      stages: byId(doc, 'stages', HTMLDListElement),
    },
    timeline: byId(doc, 'timeline', HTMLElement),
    timelineNote: byId(doc, 'timeline-note', HTMLElement),
    timelineList: byId(doc, 'timeline-list', HTMLOListElement),
    charts: byId(doc, 'charts', HTMLElement),
    chartGrid: byId(doc, 'chart-grid', HTMLElement),
    fairness: byId(doc, 'fairness', HTMLElement),
    byTier: byId(doc, 'by-tier', HTMLTableElement),
    byBackend: byId(doc, 'by-backend', HTMLTableElement),
    partialWork: byId(doc, 'partial-work', HTMLElement),
    byRound: byId(doc, 'by-round', HTMLTableElement),
    byLabel: byId(doc, 'by-label', HTMLTableElement),
    models: byId(doc, 'models', HTMLElement),
    roundModels: byId(doc, 'round-models', HTMLTableElement),
    confusion: byId(doc, 'confusion', HTMLElement),
    confusionParts: {
      table: byId(doc, 'confusion-table', HTMLTableElement),
      choose: byId(doc, 'confusion-round', HTMLSelectElement),
      note: byId(doc, 'confusion-note', HTMLElement),
    },
    settings: byId(doc, 'settings', HTMLFormElement),
    settingsErrors: byId(doc, 'settings-errors', HTMLElement),
    settingsMessage: byId(doc, 'settings-message', HTMLElement),
  }

  const state = createState()
  let datasets: DatasetView[] = []
  /** Whether the coordinator answers GET …/rounds/:round/devices (null: not asked yet). */
  let deviceDetail: boolean | null = null
  let selected: string | null = decodeURIComponent(location.hash.replace(/^#task=/, '')) || null
  let charts: { taskId: string; charts: Charts } | null = null
  /** The task whose values the settings form shows; refilled only when another is shown. */
  let settingsFor: string | null = null
  /** The round whose confusion matrix is shown (null: the latest). */
  let confusionRound: number | null = null
  let stopped = false
  // The page's elements outlive a board (a refused token starts a new one): its listeners go with it.
  const listening = new AbortController()
  const on = { signal: listening.signal }

  // Rendering ----------------------------------------------------------------------------------

  let frame: number | null = null
  const render = () => {
    if (frame !== null || stopped) return
    frame = requestAnimationFrame(() => {
      frame = null
      draw()
    })
  }

  function select(id: string | null, { focus = false } = {}) {
    selected = id
    history.replaceState(null, '', id ? `#task=${encodeURIComponent(id)}` : location.pathname)
    el.taskMessage.textContent = ''
    el.settingsMessage.textContent = ''
    confusionRound = null
    clearIssues(el.settings, el.settingsErrors)
    draw()
    if (id) void refreshDevices()
    if (focus) {
      el.taskTitle.tabIndex = -1
      el.taskTitle.focus()
    }
  }

  function shownTask(): TaskView | undefined {
    if (selected && state.tasks.has(selected)) return state.tasks.get(selected)
    // Nothing chosen (or it was deleted): the newest task.
    const newest = [...state.tasks.values()].sort((a, b) =>
      b.createdAt.localeCompare(a.createdAt),
    )[0]
    if (newest) selected = newest.id
    return newest
  }

  function draw() {
    const task = shownTask()
    renderTaskList(doc, el.taskList, [...state.tasks.values()], task?.id ?? null, (id) =>
      select(id, { focus: true }),
    )
    el.noTasks.hidden = state.tasks.size > 0
    renderDatasets(doc, el.datasets, el.datasetsSummary, datasets)
    el.datasetNames.replaceChildren(
      ...datasets.map((d) => Object.assign(doc.createElement('option'), { value: d.name })),
    )

    const sections = [el.task, el.round, el.timeline, el.charts, el.models, el.confusion]
    for (const section of [...sections, el.fairness, el.settings]) section.hidden = !task
    el.noTask.hidden = !!task
    if (!task) {
      charts?.charts.destroy()
      charts = null
      return
    }
    drawTask(task)
    const rounds = state.rounds.get(task.id) ?? []
    const round = currentRound(state, task.id)
    el.round.hidden = !round
    el.timeline.hidden = !round
    if (round) {
      const devices = roundDevices(state, task.id, round.round)
      renderRound(doc, el.roundParts, task, round, devices, now())
      renderTimeline(doc, el.timelineList, round, devices, now())
      el.timelineNote.textContent =
        devices.length > 0
          ? deviceDetail === false
            ? 'This coordinator gives no per-device detail: showing what the event stream saw since the dashboard connected.'
            : ''
          : deviceDetail === false
            ? 'No per-device detail from this coordinator, and no device has moved since the dashboard connected.'
            : 'No device selected in this round yet.'
    }
    if (charts?.taskId !== task.id) {
      charts?.charts.destroy()
      charts = { taskId: task.id, charts: createCharts(doc, el.chartGrid) }
    }
    charts.charts.update(rounds)
    renderFairness(
      doc,
      {
        byTier: el.byTier,
        byBackend: el.byBackend,
        partial: el.partialWork,
        byRound: el.byRound,
        byLabel: el.byLabel,
      },
      rounds,
    )
    renderRoundModels(doc, el.roundModels, rounds)
    renderConfusion(doc, el.confusionParts, rounds, confusionRound)
  }

  function drawTask(task: TaskView) {
    el.taskTitle.textContent = task.name
    el.taskStatus.textContent = statusLabel(task)
    el.taskStatus.dataset.status = task.status
    el.taskPurpose.textContent = task.purpose || 'No purpose given.'
    el.taskFacts.textContent = taskFacts(task).join(' · ')
    el.taskError.hidden = !task.error
    el.taskError.textContent = !task.error
      ? ''
      : task.status === 'failed'
        ? `Failed: ${task.error}`
        : task.error
    const steerable = task.status === 'running' || task.status === 'paused'
    // A failed task can be resumed from its last committed model.
    el.pause.textContent = task.status === 'paused' || task.status === 'failed' ? 'Resume' : 'Pause'
    el.pause.disabled = !steerable && task.status !== 'failed'
    el.settings.querySelector('button')!.disabled = !steerable
    if (settingsFor !== task.id) {
      settingsFor = task.id
      field(el.settings, 'rounds.deadlineSeconds').value = String(task.rounds.deadlineSeconds)
      field(el.settings, 'rounds.clientsPerRound').value = String(task.rounds.clientsPerRound)
    }
    // An async task has no rounds of devices to size: its buffer and concurrency say that.
    field(el.settings, 'rounds.clientsPerRound').closest('div')!.hidden = task.mode === 'async'
  }

  // Data ---------------------------------------------------------------------------------------

  async function refreshDevices() {
    const task = shownTask()
    const round = task && currentRound(state, task.id)
    if (!task || !round || deviceDetail === false) return
    try {
      const devices = await api.roundDevices(task.id, round.round)
      deviceDetail = devices !== null
      if (devices) setRoundDevices(state, task.id, round.round, devices)
      render()
    } catch {
      // The event stream still tells the story; the next event or reconnection asks again.
    }
  }
  const refreshDevicesSoon = throttle(() => void refreshDevices(), 1000)

  async function refreshDatasets() {
    try {
      datasets = await api.datasets()
      render()
    } catch {
      // Shown again at the next check-in or reconnection.
    }
  }
  const refreshDatasetsSoon = throttle(() => void refreshDatasets(), 5000)

  /** On every `ready`: the stream's ids restart with the coordinator, so fetch what we missed. */
  async function catchUp(tasks: TaskView[]) {
    setTasks(state, tasks)
    deviceDetail = null
    render()
    await Promise.all(
      tasks.map(async (task) => {
        try {
          const rounds = await api.rounds(task.id)
          // A close seen in an event while the request was out is newer than the snapshot.
          const seen = state.rounds.get(task.id) ?? []
          setRounds(
            state,
            task.id,
            rounds.map((r) => {
              const known = seen.find((s) => s.round === r.round)
              return known && known.status !== 'open' && r.status === 'open' ? known : r
            }),
          )
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
    if (taskId !== null && taskId === selected) {
      if (event.type === 'round.opened' || event.type === 'round.closed') void refreshDevices()
      else if (event.type === 'device.state' && deviceDetail) refreshDevicesSoon()
    }
    render()
  }

  // The event stream -----------------------------------------------------------------------------

  const showStatus = (status: StreamStatus) => {
    const words: Record<StreamStatus['state'], string> = {
      connecting: 'Connecting…',
      live: 'Live',
      waiting: 'Reconnecting…',
      unauthorized: 'Token refused',
      stopped: 'Not connected',
    }
    el.connection.textContent =
      status.state === 'waiting'
        ? `Reconnecting in ${Math.ceil(status.retryInMs / 1000)} s`
        : words[status.state]
    el.connection.dataset.state = status.state
    if (status.state === 'waiting') el.connection.title = status.reason
    if (status.state === 'unauthorized') onUnauthorized()
  }
  const stream = connectEventStream({
    url: '/api/v1/events',
    token,
    onStatus: showStatus,
    onMessage: (message) => {
      try {
        if (message.event === 'ready') {
          const { tasks } = JSON.parse(message.data) as { tasks: TaskView[] }
          void catchUp(tasks)
        } else onEvent(JSON.parse(message.data) as ServerEvent)
      } catch (error) {
        console.error('an event the dashboard could not read', message, error)
      }
    },
  })

  // The countdown and the devices' bars move with the clock, not only with events.
  const ticker = setInterval(() => {
    const task = shownTask()
    const round = task && currentRound(state, task.id)
    if (!task || !round || round.status !== 'open') return
    renderCountdown(el.roundParts.countdown, round, now(), task)
    renderTimeline(doc, el.timelineList, round, roundDevices(state, task.id, round.round), now())
  }, 1000)

  // Steering -------------------------------------------------------------------------------------

  const say = (text: string) => (el.taskMessage.textContent = text)

  const createForm = setUpCreateForm(doc, {
    api,
    signal: listening.signal,
    onCreated: (task) => {
      state.tasks.set(task.id, task)
      select(task.id, { focus: true })
      say(
        `Created “${task.name}”. ${task.mode === 'async' ? 'Version' : 'Round'} 1 is open for devices.`,
      )
    },
  })

  setUpTaskActions(doc, {
    api,
    state,
    shownTask,
    say,
    draw,
    onClone: (task) => void createForm.cloneFrom(task),
    onDeleted: (task) => {
      state.tasks.delete(task.id)
      state.rounds.delete(task.id)
      select(null)
      say(`Deleted “${task.name}”.`)
    },
    signal: listening.signal,
  })

  el.confusionParts.choose.addEventListener(
    'change',
    () => {
      const rounds = state.rounds.get(shownTask()?.id ?? '') ?? []
      const latest = rounds.findLast((r) => r.confusion !== null)?.round
      const chosen = Number(el.confusionParts.choose.value)
      // Choosing the latest follows the latest as new rounds commit.
      confusionRound = chosen === latest ? null : chosen
      render()
    },
    on,
  )

  el.settings.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      const task = shownTask()
      if (!task) return
      el.settingsMessage.textContent = ''
      const read = readTaskForm(
        (name) => (name === 'name' ? task.name : (field(el.settings, name, true)?.value ?? null)),
        null,
      )
      if (!read.ok) return showIssues(el.settings, el.settingsErrors, read.issues)
      clearIssues(el.settings, el.settingsErrors)
      const rounds = read.value.rounds ?? {}
      const button = el.settings.querySelector<HTMLButtonElement>('button[type="submit"]')!
      button.disabled = true
      api
        .patchTask(task.id, { rounds })
        .then((updated) => {
          state.tasks.set(updated.id, updated)
          // Beside the button, and announced: the change shows nowhere else until a round opens.
          el.settingsMessage.textContent =
            updated.mode === 'async'
              ? `Applied. From version ${updated.round + 1}, each device has ${updated.rounds.deadlineSeconds} s.`
              : `Applied. From round ${updated.round + 1}: deadline ${updated.rounds.deadlineSeconds} s, ` +
                `${updated.rounds.clientsPerRound} devices per round; round ${updated.round} keeps its own.`
          draw()
        })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.issues.length > 0)
            showIssues(el.settings, el.settingsErrors, error.issues)
          else el.settingsErrors.textContent = `Not applied: ${errorText(error)}`
        })
        .finally(() => (button.disabled = false))
    },
    on,
  )

  setUpJoin(
    doc,
    location.origin,
    api.join().then(
      (join) => join.phoneUrl,
      () => null,
    ),
  )
  draw()

  return () => {
    stopped = true
    listening.abort()
    stream.stop()
    clearInterval(ticker)
    charts?.charts.destroy()
    charts = null
  }
}

function field(form: HTMLFormElement, name: string): HTMLInputElement
function field(form: HTMLFormElement, name: string, optional: true): HTMLInputElement | null
function field(form: HTMLFormElement, name: string, optional = false): HTMLInputElement | null {
  const input = form.querySelector<HTMLInputElement>(`[name="${name}"]`)
  if (!input && !optional) throw new Error(`the form has no field ${name}`)
  return input
}
