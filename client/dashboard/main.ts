// The dashboard: asks for the admin token once, then watches and steers the coordinator live.
import '../app/styles.css'
import './styles.css'
import { byId } from '../ui/dom.ts'
import { ApiError, createApi, errorText } from './api.ts'
import { startBoard } from './board/index.ts'
import { tokenStore } from './session.ts'

const doc = document
const tokens = tokenStore(sessionStorage)
const form = byId(doc, 'token-form', HTMLFormElement)
const input = byId(doc, 'token', HTMLInputElement)
const message = byId(doc, 'token-message', HTMLElement)
const board = byId(doc, 'board', HTMLElement)
const forget = byId(doc, 'forget', HTMLButtonElement)
const connection = byId(doc, 'connection', HTMLElement)

let stop: (() => void) | null = null

function askForToken(why = ''): void {
  stop?.()
  stop = null
  board.hidden = true
  forget.hidden = true
  form.hidden = false
  message.textContent = why
  connection.textContent = 'Not connected'
  connection.dataset.state = 'off'
  input.focus()
}

function open(token: string): void {
  form.hidden = true
  board.hidden = false
  forget.hidden = false
  stop = startBoard(doc, {
    api: createApi({ token }),
    token,
    onUnauthorized: () => {
      tokens.clear()
      askForToken('The coordinator no longer accepts this admin token. Enter the current one.')
    },
  })
}

form.addEventListener('submit', (event) => {
  event.preventDefault()
  const token = input.value.trim()
  if (token === '') {
    message.textContent = 'Enter the admin token.'
    return
  }
  message.textContent = 'Checking…'
  // One request first: a wrong token is told here, not by a silent event stream.
  createApi({ token })
    .tasks()
    .then(() => {
      tokens.set(token)
      input.value = ''
      message.textContent = ''
      open(token)
    })
    .catch((error: unknown) => {
      message.textContent =
        error instanceof ApiError && error.status === 401
          ? 'The coordinator refused this admin token.'
          : errorText(error)
      input.focus()
    })
})

forget.addEventListener('click', () => {
  tokens.clear()
  askForToken()
})

const saved = tokens.get()
if (saved) open(saved)
else askForToken()
