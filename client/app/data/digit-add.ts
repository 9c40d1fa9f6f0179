// "Draw a digit" for a digit dataset other than the demo's (whose pad is in the page): the same
// pad and MNIST-style preprocessing, the digit picked from the dataset's classes '0'..'9'.
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import { h } from '../../ui/dom.ts'
import { mountDrawPad } from '../draw/index.ts'
import type { PollenDatabase } from '../storage/index.ts'
import { digitPicker } from './own.ts'
import { errorText, liveMessage, speaker } from './say.ts'
import { storeExamples } from './store.ts'

export interface DigitAddOptions {
  db: PollenDatabase
  document: Document
  spec: DatasetSpec
  onStored: () => Promise<void>
}

export function digitAddForm({ db, document, spec, onStored }: DigitAddOptions): HTMLFormElement {
  const pad = h(document, 'canvas', 'pad')
  pad.setAttribute('role', 'img')
  pad.setAttribute('aria-label', `Drawing area for one digit of ${spec.name}`)
  const picker = h(
    document,
    'fieldset',
    'digits',
    h(document, 'legend', null, 'Which digit is it?'),
  )
  digitPicker(document, picker, `digit-${spec.name}`)
  const clear = h(document, 'button', null, 'Clear')
  clear.type = 'button'
  const save = h(document, 'button', 'primary', 'Save')
  save.type = 'submit'
  const message = liveMessage(document, 'p')
  const say = speaker(message)
  const form = h(
    document,
    'form',
    'draw',
    h(document, 'h3', null, 'Draw a digit'),
    pad,
    picker,
    h(document, 'div', 'actions', clear, save),
    message,
  )
  const drawing = mountDrawPad(pad)
  clear.addEventListener('click', () => {
    drawing.clear()
    say('info')
  })
  let saving = false
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (saving) return
    const example = drawing.example()
    if (!example) {
      say('error', 'The drawing area is empty: draw a digit first, then save it.')
      return
    }
    const chosen = new FormData(form).get(`digit-${spec.name}`)
    if (typeof chosen !== 'string' || chosen === '') {
      say('error', 'Choose which digit you drew, 0 to 9, then save it.')
      picker.querySelector('input')?.focus()
      return
    }
    saving = true
    storeExamples(db, spec, {
      features: example,
      labels: Uint8Array.of(Number(chosen)),
      source: 'drawn',
    })
      .then(async () => {
        drawing.clear()
        say('ok', `Saved your ${chosen}. Draw another, or change the digit.`)
        await onStored()
      })
      .catch((error: unknown) =>
        say('error', `Your drawing could not be stored: ${errorText(error)}`),
      )
      .finally(() => {
        saving = false
      })
  })
  return form
}
