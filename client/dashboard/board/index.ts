// The board once connected: wires the page's elements, the view fed by the event stream and the
// REST snapshots (sync.ts), its drawing (render.ts), the steering controls (steering.ts), the
// "New task" form (../create-form.ts) and the phone link (../join.ts). Holds no logic of its own.
import type { Api } from '../api.ts'
import { setUpCreateForm } from '../create-form.ts'
import { clearIssues } from '../form-errors.ts'
import { setUpJoin } from '../join.ts'
import { connectEventStream, type StreamStatus } from '../sse.ts'
import { boardElements } from './elements.ts'
import { createRenderer } from './render.ts'
import { setUpSteering } from './steering.ts'
import { createSync } from './sync.ts'
import { createView } from './view.ts'
import { connectionText, createdText } from './words.ts'

export interface BoardOptions {
  api: Api
  token: string
  onUnauthorized: () => void
  now?: () => number
}

/** Starts the board; returns a function that stops it (the event stream and the timers). */
export function startBoard(
  doc: Document,
  { api, token, onUnauthorized, now = Date.now }: BoardOptions,
) {
  const el = boardElements(doc)
  const view = createView(location.hash)
  // The page's elements outlive a board (a refused token starts a new one): its listeners go with it.
  const listening = new AbortController()
  const signal = listening.signal
  const renderer = createRenderer(doc, el, view, {
    now,
    onChoose: (id) => select(id, { focus: true }),
  })
  const { draw, render } = renderer
  const sync = createSync({ api, view, render, now })
  const say = (text: string) => (el.taskMessage.textContent = text)

  function select(id: string | null, { focus = false } = {}) {
    view.selected = id
    history.replaceState(null, '', id ? `#task=${encodeURIComponent(id)}` : location.pathname)
    el.taskMessage.textContent = ''
    el.settingsMessage.textContent = ''
    view.confusionRound = null
    clearIssues(el.settings, el.settingsErrors)
    draw()
    if (id) void sync.refreshDevices()
    if (focus) {
      el.taskTitle.tabIndex = -1
      el.taskTitle.focus()
    }
  }

  const showStatus = (status: StreamStatus) => {
    el.connection.textContent = connectionText(status)
    el.connection.dataset.state = status.state
    if (status.state === 'waiting') el.connection.title = status.reason
    if (status.state === 'unauthorized') onUnauthorized()
  }
  const stream = connectEventStream({
    url: '/api/v1/events',
    token,
    onStatus: showStatus,
    onMessage: sync.onMessage,
  })

  const createForm = setUpCreateForm(doc, {
    api,
    signal,
    onCreated: (task) => {
      view.state.tasks.set(task.id, task)
      select(task.id, { focus: true })
      say(createdText(task))
    },
  })
  setUpSteering(doc, {
    api,
    el,
    view,
    say,
    draw,
    render,
    select,
    onClone: (task) => void createForm.cloneFrom(task),
    signal,
  })
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
    renderer.stop()
    listening.abort()
    stream.stop()
  }
}
