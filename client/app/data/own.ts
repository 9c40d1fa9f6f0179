// The owner's own digits on the data screen: draw one and label it, or import labelled images.
import { MNIST_SHAPE } from '../../../shared/data/index.ts'
import { byId, h } from '../../ui/dom.ts'
import { mountDrawPad } from '../draw/index.ts'
import { addExamples, type PollenDatabase } from '../storage/index.ts'
import { type ImportResult, importImages, ImportError } from './import.ts'

export interface OwnDataOptions {
  db: PollenDatabase
  /** The dataset drawn and imported digits join (the demo's: what an MNIST task asks for). */
  dataset: string
  document?: Document
  /** After examples were stored: redraw the counts. */
  onStored: () => Promise<void>
}

type Tone = 'ok' | 'error' | 'info'

/** Writes a message into `element`, as an alert when it is an error. */
function speaker(element: HTMLElement) {
  return (tone: Tone, ...content: (Node | string)[]) => {
    element.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    element.className = `message ${tone}`
    element.replaceChildren(...content)
  }
}

/** Ten radio buttons, 0 to 9, in `fieldset`: a thumb-sized digit picker. */
export function digitPicker(document: Document, fieldset: HTMLFieldSetElement, name: string) {
  for (let digit = 0; digit < 10; digit++) {
    const input = h(document, 'input', null)
    input.type = 'radio'
    input.name = name
    input.value = String(digit)
    fieldset.append(h(document, 'label', null, input, h(document, 'span', null, String(digit))))
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** Mounts "Draw a digit" and "Import images". */
export function mountOwnData({
  db,
  dataset,
  document = globalThis.document,
  onStored,
}: OwnDataOptions): void {
  // Draw a digit.
  const drawForm = byId(document, 'draw-form', HTMLFormElement)
  const labels = byId(document, 'draw-labels', HTMLFieldSetElement)
  const drawSay = speaker(byId(document, 'draw-message', HTMLParagraphElement))
  digitPicker(document, labels, 'label')
  const pad = mountDrawPad(byId(document, 'draw-pad', HTMLCanvasElement))
  byId(document, 'draw-clear', HTMLButtonElement).addEventListener('click', () => {
    pad.clear()
    drawSay('info')
  })
  let saving = false
  drawForm.addEventListener('submit', (event) => {
    event.preventDefault()
    // A double tap on Save stores the drawing once.
    if (saving) return
    const example = pad.example()
    if (!example) {
      drawSay('error', 'The drawing area is empty: draw a digit first, then save it.')
      return
    }
    const chosen = new FormData(drawForm).get('label')
    if (typeof chosen !== 'string' || chosen === '') {
      drawSay('error', 'Choose which digit you drew, 0 to 9, then save it.')
      labels.querySelector('input')?.focus()
      return
    }
    const label = Number(chosen)
    saving = true
    addExamples(db, {
      dataset,
      source: 'drawn',
      examples: {
        count: 1,
        shape: [...MNIST_SHAPE],
        features: example,
        labels: Uint8Array.of(label),
      },
    })
      .then(async () => {
        pad.clear()
        drawSay('ok', `Saved your ${label}. Draw another, or change the digit.`)
        await onStored()
      })
      .catch((error: unknown) => {
        drawSay('error', `Your drawing could not be stored: ${errorText(error)}`)
      })
      .finally(() => {
        saving = false
      })
  })

  // Import images.
  const importForm = byId(document, 'import-form', HTMLFormElement)
  const files = byId(document, 'import-files', HTMLInputElement)
  const choice = byId(document, 'import-label', HTMLSelectElement)
  const button = byId(document, 'import', HTMLButtonElement)
  const importSay = speaker(byId(document, 'import-message', HTMLDivElement))
  for (let digit = 0; digit < 10; digit++) {
    const option = h(document, 'option', null, `All are ${digit}`)
    option.value = String(digit)
    choice.append(option)
  }
  importForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const chosen = [...(files.files ?? [])]
    if (chosen.length === 0) {
      importSay('error', 'Choose one or more image files first.')
      files.focus()
      return
    }
    const label = choice.value === 'from-name' ? 'from-name' : Number(choice.value)
    button.disabled = true
    importSay('info', `Reading ${plural(chosen.length, 'file')}…`)
    importImages(db, chosen, { dataset, label })
      .then(async (result) => {
        report(result)
        if (result.stored.length > 0) await onStored()
        if (result.refused.length === 0) files.value = ''
      })
      .catch((error: unknown) => {
        importSay(
          'error',
          error instanceof ImportError ? error.message : `Importing failed: ${errorText(error)}`,
        )
      })
      .finally(() => {
        button.disabled = false
      })
  })

  function report({ stored, refused }: ImportResult): void {
    const total = stored.length + refused.length
    const digits = [...new Set(stored.map((s) => s.label))].sort()
    const head =
      stored.length === 0
        ? `Stored none of the ${plural(total, 'file')}.`
        : `Stored ${stored.length} of ${plural(total, 'file')}: ` +
          `${digits.length === 1 ? 'digit' : 'digits'} ${digits.join(', ')}.`
    if (refused.length === 0) {
      importSay('ok', head)
      return
    }
    importSay(
      'error',
      h(document, 'p', null, `${head} Refused ${plural(refused.length, 'file')}:`),
      h(
        document,
        'ul',
        'refused',
        ...refused.map((r) =>
          h(document, 'li', null, h(document, 'strong', null, r.name), `: ${r.reason}.`),
        ),
      ),
    )
  }
}

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message || error.name : String(error)
