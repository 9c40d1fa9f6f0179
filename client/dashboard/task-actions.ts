// The chosen task's buttons: pause or resume, save the current model or an earlier round's,
// export the rounds, clone into the form, delete (after a confirm).
import type { TaskView } from '../../shared/protocol/index.ts'
import { byId } from '../ui/dom.ts'
import { errorText, type Api } from './api.ts'
import { roundsCsv } from './csv.ts'
import { saveFile, slug } from './files.ts'
import { saveModel } from './model-files.ts'
import type { DashboardState } from './state.ts'

export interface TaskActionsContext {
  api: Api
  state: DashboardState
  shownTask: () => TaskView | undefined
  /** Tells the person what happened, in the task card's live region. */
  say: (text: string) => void
  draw: () => void
  onClone: (task: TaskView) => void
  onDeleted: (task: TaskView) => void
  signal: AbortSignal
  /** The confirm dialog (injected: a test or another page may answer it differently). */
  confirm?: (question: string) => boolean
}

export function setUpTaskActions(doc: Document, ctx: TaskActionsContext): void {
  const { api, state, shownTask, say, draw, signal } = ctx
  const confirm = ctx.confirm ?? ((q: string) => doc.defaultView?.confirm(q) ?? false)
  const on = { signal }
  const button = (id: string) => byId(doc, id, HTMLButtonElement)
  const click = (id: string, run: (task: TaskView) => void) =>
    button(id).addEventListener(
      'click',
      () => {
        const task = shownTask()
        if (task) run(task)
      },
      on,
    )

  click('pause', (task) => {
    const status = task.status === 'running' ? 'paused' : 'running'
    button('pause').disabled = true
    api
      .patchTask(task.id, { status })
      .then((updated) => {
        state.tasks.set(updated.id, updated)
        say(
          status === 'paused'
            ? 'Paused: no new devices are selected; the open round still closes.'
            : task.status === 'failed'
              ? 'Resumed from the last committed model: a new round opens.'
              : 'Resumed: devices are selected again.',
        )
      })
      .catch((error: unknown) =>
        say(`Could not ${status === 'paused' ? 'pause' : 'resume'}: ${errorText(error)}`),
      )
      .finally(draw)
  })

  const download = (task: TaskView, round: number | null) => {
    say(round === null ? 'Downloading the model…' : `Downloading round ${round}'s model…`)
    saveModel(doc, api, task, round).then(say, (error: unknown) =>
      say(`Could not download the model: ${errorText(error)}`),
    )
  }
  click('download', (task) => download(task, null))
  // One listener for every round's button, however often the table is redrawn.
  byId(doc, 'round-models', HTMLTableElement).addEventListener(
    'click',
    (event) => {
      const target = (event.target as Element).closest<HTMLButtonElement>('button[data-round]')
      const task = shownTask()
      if (target && task) download(task, Number(target.dataset.round))
    },
    on,
  )

  click('export', (task) => {
    const rounds = state.rounds.get(task.id) ?? []
    const name = `${slug(task.name)}-rounds.csv`
    saveFile(doc, name, new Blob([roundsCsv(task, rounds)], { type: 'text/csv' }))
    say(`Saved ${name}: ${rounds.length} round${rounds.length === 1 ? '' : 's'}.`)
  })

  click('clone', (task) => ctx.onClone(task))

  click('delete', (task) => {
    const question =
      `Delete “${task.name}” with its ${task.committedRounds} committed round` +
      `${task.committedRounds === 1 ? '' : 's'} and their models? Phones stop training it. This cannot be undone.`
    if (!confirm(question)) {
      say('Not deleted.')
      return
    }
    button('delete').disabled = true
    api
      .deleteTask(task.id)
      .then(() => ctx.onDeleted(task))
      .catch((error: unknown) => say(`Could not delete the task: ${errorText(error)}`))
      .finally(() => (button('delete').disabled = false))
  })
}
