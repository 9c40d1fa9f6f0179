// The board once connected: the state fed by the event stream and the REST snapshots, drawn
// into the page, and the steering controls. One render per animation frame, however many events.
import type { ServerEvent, TaskView } from '../../shared/protocol/index.ts'
import { byId } from '../app/dom.ts'
import { ApiError, errorText, type Api, type DatasetView } from './api.ts'
import { createCharts, type Charts } from './charts/index.ts'
import { roundsCsv } from './csv.ts'
import { renderDatasets } from './datasets.ts'
import { renderFairness } from './fairness.ts'
import { saveFile, slug } from './files.ts'
import { clearIssues, showIssues } from './form-errors.ts'
import { count } from './format.ts'
import { setUpJoin } from './join.ts'
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
import { estimateSpend, readTaskForm, readTopology, spendText } from './task-form.ts'
import { progressLabel, renderTaskList, statusLabel } from './tasks.ts'
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
    download: byId(doc, 'download', HTMLButtonElement),
    export: byId(doc, 'export', HTMLButtonElement),
    round: byId(doc, 'round', HTMLElement),
    roundParts: {
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
    settings: byId(doc, 'settings', HTMLFormElement),
    settingsErrors: byId(doc, 'settings-errors', HTMLElement),
    create: byId(doc, 'create', HTMLDetailsElement),
    createForm: byId(doc, 'create-form', HTMLFormElement),
    createErrors: byId(doc, 'create-errors', HTMLElement),
    createModel: byId(doc, 'create-model', HTMLSelectElement),
    createTopologyField: byId(doc, 'create-topology-field', HTMLElement),
    createTopology: byId(doc, 'create-topology', HTMLInputElement),
    createDp: byId(doc, 'create-dp', HTMLInputElement),
    createDpFields: byId(doc, 'create-dp-fields', HTMLElement),
    createDpSpend: byId(doc, 'create-dp-spend', HTMLOutputElement),
    createSecure: byId(doc, 'create-secure', HTMLInputElement),
    createSecureFields: byId(doc, 'create-secure-fields', HTMLElement),
  }

  const state = createState()
  let datasets: DatasetView[] = []
  /** Whether the coordinator answers GET …/rounds/:round/devices (null: not asked yet). */
  let deviceDetail: boolean | null = null
  let selected: string | null = decodeURIComponent(location.hash.replace(/^#task=/, '')) || null
  let charts: { taskId: string; charts: Charts } | null = null
  /** The task whose values the settings form shows; refilled only when another is shown. */
  let settingsFor: string | null = null
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

    for (const section of [el.task, el.round, el.timeline, el.charts, el.fairness, el.settings])
      section.hidden = !task
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
  }

  /** Differential privacy and secure aggregation, as the task's facts line says them. */
  function privacyFacts(task: TaskView): string[] {
    const facts: string[] = []
    const dp = task.privacy
    if (dp)
      facts.push(
        `DP (${dp.mode}, clip ${dp.clipNorm}, σ ${dp.noiseMultiplier}): ε ${(task.epsilonSpent ?? 0).toPrecision(4)} of ${dp.epsilonBudget} spent at δ ${dp.delta}`,
      )
    if (task.secureAggregation) facts.push('secure aggregation')
    if (task.stoppedReason) facts.push(`stopped: ${task.stoppedReason}`)
    return facts
  }

  function drawTask(task: TaskView) {
    el.taskTitle.textContent = task.name
    el.taskStatus.textContent = statusLabel(task)
    el.taskStatus.dataset.status = task.status
    el.taskPurpose.textContent = task.purpose || 'No purpose given.'
    el.taskFacts.textContent = [
      `${task.model.preset} (${count(task.model.parameters)} weights)`,
      `dataset ${task.dataset}`,
      `${task.train.optimizer}, learning rate ${task.train.learningRate}, batch ${task.train.batchSize}, ${task.train.localEpochs} epoch${task.train.localEpochs === 1 ? '' : 's'}`,
      `${task.rounds.clientsPerRound} devices per round (${task.rounds.overSelect}× selected), deadline ${task.rounds.deadlineSeconds} s`,
      progressLabel(task),
      ...privacyFacts(task),
    ].join(' · ')
    el.taskError.hidden = !task.error
    el.taskError.textContent = task.error ? `Failed: ${task.error}` : ''
    const steerable = task.status === 'running' || task.status === 'paused'
    el.pause.textContent = task.status === 'paused' ? 'Resume' : 'Pause'
    el.pause.disabled = !steerable
    el.settings.querySelector('button')!.disabled = !steerable
    if (settingsFor !== task.id) {
      settingsFor = task.id
      field(el.settings, 'rounds.deadlineSeconds').value = String(task.rounds.deadlineSeconds)
      field(el.settings, 'rounds.clientsPerRound').value = String(task.rounds.clientsPerRound)
    }
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
    renderCountdown(el.roundParts.countdown, round, now(), task.status === 'paused')
    renderTimeline(doc, el.timelineList, round, roundDevices(state, task.id, round.round), now())
  }, 1000)

  // Steering -------------------------------------------------------------------------------------

  const say = (text: string) => (el.taskMessage.textContent = text)

  el.pause.addEventListener(
    'click',
    () => {
      const task = shownTask()
      if (!task) return
      const status = task.status === 'paused' ? 'running' : 'paused'
      el.pause.disabled = true
      api
        .patchTask(task.id, { status })
        .then((updated) => {
          state.tasks.set(updated.id, updated)
          say(
            status === 'paused'
              ? 'Paused: no new devices are selected; the open round still closes.'
              : 'Resumed: devices are selected again.',
          )
        })
        .catch((error: unknown) =>
          say(`Could not ${status === 'paused' ? 'pause' : 'resume'}: ${errorText(error)}`),
        )
        .finally(() => draw())
    },
    on,
  )

  el.download.addEventListener(
    'click',
    () => {
      const task = shownTask()
      if (!task) return
      say('Downloading the model…')
      api
        .model(task.id)
        .then(({ modelJson, weights }) => {
          // Saved side by side, model.json names its weights file by the name it is saved under,
          // so tf.loadLayersModel finds it.
          const name = `${slug(task.name)}-round-${task.committedRounds}`
          const manifest = modelJson.weightsManifest.map((group) => ({
            ...group,
            paths: [`${name}.weights.bin`],
          }))
          saveFile(
            doc,
            `${name}.json`,
            new Blob([JSON.stringify({ ...modelJson, weightsManifest: manifest })], {
              type: 'application/json',
            }),
          )
          saveFile(
            doc,
            `${name}.weights.bin`,
            new Blob([weights], { type: 'application/octet-stream' }),
          )
          say(`Saved ${name}.json and ${name}.weights.bin (TF.js Layers format).`)
        })
        .catch((error: unknown) => say(`Could not download the model: ${errorText(error)}`))
    },
    on,
  )

  el.export.addEventListener(
    'click',
    () => {
      const task = shownTask()
      if (!task) return
      const rounds = state.rounds.get(task.id) ?? []
      const name = `${slug(task.name)}-rounds.csv`
      saveFile(doc, name, new Blob([roundsCsv(task, rounds)], { type: 'text/csv' }))
      say(`Saved ${name}: ${rounds.length} round${rounds.length === 1 ? '' : 's'}.`)
    },
    on,
  )

  el.settings.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      const task = shownTask()
      if (!task) return
      const read = readTaskForm(
        (name) => (name === 'name' ? task.name : (field(el.settings, name, true)?.value ?? null)),
        null,
      )
      if (!read.ok) return showIssues(el.settings, el.settingsErrors, read.issues)
      clearIssues(el.settings, el.settingsErrors)
      const rounds = read.value.rounds ?? {}
      api
        .patchTask(task.id, { rounds })
        .then((updated) => {
          state.tasks.set(updated.id, updated)
          say(
            `From the next round: deadline ${updated.rounds.deadlineSeconds} s, ${updated.rounds.clientsPerRound} devices per round.`,
          )
          draw()
        })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.issues.length > 0)
            showIssues(el.settings, el.settingsErrors, error.issues)
          else el.settingsErrors.textContent = errorText(error)
        })
    },
    on,
  )

  el.createModel.addEventListener(
    'change',
    () => {
      el.createTopologyField.hidden = el.createModel.value !== 'custom'
    },
    on,
  )

  /** Shows the settings each privacy checkbox asks for, and what ε the task would spend. */
  function syncPrivacy() {
    el.createDpFields.hidden = !el.createDp.checked
    el.createSecureFields.hidden = !el.createSecure.checked
    if (!el.createDp.checked) {
      el.createDpSpend.textContent = ''
      return
    }
    const spend = estimateSpend(formValues(el.createForm))
    el.createDpSpend.textContent = spend.ok ? spendText(spend.value) : spend.message
  }
  // Every field's input bubbles here: the checkboxes, σ and δ, and the round settings q counts.
  el.createForm.addEventListener('input', syncPrivacy, on)

  el.createForm.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      void createTask()
    },
    on,
  )

  async function createTask() {
    const form = el.createForm
    let topology: Record<string, unknown> | null = null
    const file = el.createTopology.files?.[0]
    if (el.createModel.value === 'custom' && file) {
      const read = readTopology(await file.text())
      if (!read.ok) return showIssues(form, el.createErrors, read.issues)
      topology = read.value
    }
    const read = readTaskForm(formValues(form), topology)
    if (!read.ok) return showIssues(form, el.createErrors, read.issues)
    clearIssues(form, el.createErrors)
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')!
    button.disabled = true
    try {
      const task = await api.createTask(read.value)
      state.tasks.set(task.id, task)
      form.reset()
      el.createTopologyField.hidden = true
      syncPrivacy()
      el.create.open = false
      select(task.id, { focus: true })
      say(`Created. Round 1 is open for devices.`)
    } catch (error) {
      if (error instanceof ApiError && error.issues.length > 0)
        showIssues(form, el.createErrors, error.issues)
      else el.createErrors.textContent = `Could not create the task: ${errorText(error)}`
    } finally {
      button.disabled = false
    }
  }

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

/** A form's values by input name, as it stands now: null for a field absent or unchecked. */
function formValues(form: HTMLFormElement): (name: string) => string | null {
  const data = new FormData(form)
  return (name) => {
    const value = data.get(name)
    return typeof value === 'string' ? value : null
  }
}

function field(form: HTMLFormElement, name: string): HTMLInputElement
function field(form: HTMLFormElement, name: string, optional: true): HTMLInputElement | null
function field(form: HTMLFormElement, name: string, optional = false): HTMLInputElement | null {
  const input = form.querySelector<HTMLInputElement>(`[name="${name}"]`)
  if (!input && !optional) throw new Error(`the form has no field ${name}`)
  return input
}
