// Draws the board's view into the page: the task list, the datasets, the chosen task's card, its
// round and timeline, charts, fairness tables, models and confusion matrix. One draw per animation
// frame however many events ask; the countdown and the devices' bars also move with the clock.
import type { TaskView } from '../../../shared/protocol/index.ts'
import { createCharts, type Charts } from '../charts/index.ts'
import { renderConfusion } from '../confusion.ts'
import { renderDatasets } from '../datasets.ts'
import { renderFairness } from '../fairness.ts'
import { renderRoundModels } from '../round-models.ts'
import { renderCountdown, renderRound } from '../round-view.ts'
import { currentRound, roundDevices } from '../state.ts'
import { taskFacts } from '../task-facts.ts'
import { renderTaskList, statusLabel } from '../tasks.ts'
import { renderTimeline } from '../timeline.ts'
import { field, type BoardElements } from './elements.ts'
import { shownTask, type BoardView } from './view.ts'
import { pauseControl, steerable, taskErrorText, timelineNote } from './words.ts'

export interface RendererOptions {
  now: () => number
  /** A task chosen in the list. */
  onChoose: (id: string) => void
}

export interface Renderer {
  /** Draws now. */
  draw: () => void
  /** Draws at the next animation frame (once, however many ask before it). */
  render: () => void
  /** Stops drawing, the clock's ticks and the charts. */
  stop: () => void
}

export function createRenderer(
  doc: Document,
  el: BoardElements,
  view: BoardView,
  { now, onChoose }: RendererOptions,
): Renderer {
  const { state } = view
  let charts: { taskId: string; charts: Charts } | null = null
  let frame: number | null = null
  let stopped = false

  function render() {
    if (frame !== null || stopped) return
    frame = requestAnimationFrame(() => {
      frame = null
      draw()
    })
  }

  function draw() {
    const task = shownTask(view)
    renderTaskList(doc, el.taskList, [...state.tasks.values()], task?.id ?? null, onChoose)
    el.noTasks.hidden = state.tasks.size > 0
    renderDatasets(doc, el.datasets, el.datasetsSummary, view.datasets, el.datasetsSearch.value)
    el.datasetNames.replaceChildren(
      // A task trains only on a declared dataset.
      ...view.datasets
        .filter((d) => d.declared)
        .map((d) => Object.assign(doc.createElement('option'), { value: d.name })),
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
    drawRound(task)
    const rounds = state.rounds.get(task.id) ?? []
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
      task.classes,
    )
    renderRoundModels(doc, el.roundModels, rounds)
    renderConfusion(doc, el.confusionParts, rounds, view.confusionRound, task.classes)
  }

  function drawTask(task: TaskView) {
    el.taskTitle.textContent = task.name
    el.taskStatus.textContent = statusLabel(task)
    el.taskStatus.dataset.status = task.status
    el.taskPurpose.textContent = task.purpose || 'No purpose given.'
    el.taskFacts.textContent = taskFacts(task).join(' · ')
    el.taskError.hidden = !task.error
    el.taskError.textContent = taskErrorText(task)
    const pause = pauseControl(task)
    el.pause.textContent = pause.label
    el.pause.disabled = pause.disabled
    el.settings.querySelector('button')!.disabled = !steerable(task)
    if (view.settingsFor !== task.id) {
      view.settingsFor = task.id
      field(el.settings, 'rounds.deadlineSeconds').value = String(task.rounds.deadlineSeconds)
      field(el.settings, 'rounds.clientsPerRound').value = String(task.rounds.clientsPerRound)
    }
    // An async task has no rounds of devices to size: its buffer and concurrency say that.
    field(el.settings, 'rounds.clientsPerRound').closest('div')!.hidden = task.mode === 'async'
  }

  function drawRound(task: TaskView) {
    const round = currentRound(state, task.id)
    el.round.hidden = !round
    el.timeline.hidden = !round
    if (!round) return
    const devices = roundDevices(state, task.id, round.round)
    renderRound(doc, el.roundParts, task, round, devices, now())
    renderTimeline(doc, el.timelineList, round, devices, now())
    el.timelineNote.textContent = timelineNote(devices.length, view.deviceDetail)
  }

  // The countdown and the devices' bars move with the clock, not only with events.
  const ticker = setInterval(() => {
    const task = shownTask(view)
    const round = task && currentRound(state, task.id)
    if (!task || !round || round.status !== 'open') return
    renderCountdown(el.roundParts.countdown, round, now(), task)
    renderTimeline(doc, el.timelineList, round, roundDevices(state, task.id, round.round), now())
  }, 1000)

  return {
    draw,
    render,
    stop() {
      stopped = true
      clearInterval(ticker)
      charts?.charts.destroy()
      charts = null
    },
  }
}
