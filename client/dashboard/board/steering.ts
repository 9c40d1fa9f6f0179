// The controls that steer the shown task: pause or resume, save, export, clone and delete
// (task-actions.ts), the "Next rounds" settings sent as a PATCH, and which round's confusion
// matrix to show.
import type { TaskView } from '../../../shared/protocol/index.ts'
import { ApiError, errorText, type Api } from '../api.ts'
import { clearIssues, showIssues } from '../form-errors.ts'
import { setUpTaskActions } from '../task-actions.ts'
import { readTaskForm } from '../task-form.ts'
import { field, type BoardElements } from './elements.ts'
import { confusionChoice, shownTask, type BoardView } from './view.ts'
import { appliedText } from './words.ts'

export interface SteeringOptions {
  api: Api
  el: BoardElements
  view: BoardView
  /** Tells the person what happened, in the task card's live region. */
  say: (text: string) => void
  draw: () => void
  render: () => void
  /** Chooses another task (null: the newest). */
  select: (id: string | null) => void
  onClone: (task: TaskView) => void
  signal: AbortSignal
}

export function setUpSteering(doc: Document, options: SteeringOptions): void {
  const { api, el, view, say, draw, render, select, signal } = options
  const { state } = view

  setUpTaskActions(doc, {
    api,
    state,
    shownTask: () => shownTask(view),
    say,
    draw,
    onClone: options.onClone,
    onDeleted: (task) => {
      state.tasks.delete(task.id)
      state.rounds.delete(task.id)
      select(null)
      say(`Deleted “${task.name}”.`)
    },
    signal,
  })

  // The datasets' search filters what the board holds: no request per keystroke.
  el.datasetsSearch.addEventListener('input', () => render(), { signal })

  el.confusionParts.choose.addEventListener(
    'change',
    () => {
      const rounds = state.rounds.get(shownTask(view)?.id ?? '') ?? []
      view.confusionRound = confusionChoice(rounds, Number(el.confusionParts.choose.value))
      render()
    },
    { signal },
  )

  el.settings.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      const task = shownTask(view)
      if (task) applySettings(task)
    },
    { signal },
  )

  /** Sends the form's next-round settings; the coordinator's field errors mark the fields. */
  function applySettings(task: TaskView) {
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
        el.settingsMessage.textContent = appliedText(updated)
        draw()
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.issues.length > 0)
          showIssues(el.settings, el.settingsErrors, error.issues)
        else el.settingsErrors.textContent = `Not applied: ${errorText(error)}`
      })
      .finally(() => (button.disabled = false))
  }
}
