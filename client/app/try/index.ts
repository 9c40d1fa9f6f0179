// "Try the model": the owner draws a digit (or picks an image of one) and the phone reads it with
// a task's current global model, in the training worker. Nothing about the drawing leaves it.
import type { DeviceTaskView, ModelSpecWire } from '../../../shared/protocol/index.ts'
import type { NamedTensor } from '../../../shared/tensors/index.ts'
import { MNIST_SHAPE } from '../../../shared/data/index.ts'
import { byId, h } from '../../ui/dom.ts'
import { loadEnrolment } from '../contribute/index.ts'
import { decodeImage } from '../data/import.ts'
import { inkOf, luminance, mountDrawPad, toMnist } from '../draw/index.ts'
import { readLedger } from '../privacy/ledger.ts'
import type { PollenDatabase } from '../storage/index.ts'
import { tryChoices } from './choices.ts'
import { loadTryModel, storedTryModels, TryModelError } from './model.ts'
import { showReading } from './reading.ts'
import { chosenText, modelText as describeModel } from './words.ts'

export { triable } from './choices.ts'
export { loadTryModel, storedTryModels, TryModelError } from './model.ts'
export type { TryModel, TryModelErrorCode } from './model.ts'

/** What runs the model: the training worker's `predict`. */
export interface Predictor {
  predict(
    spec: ModelSpecWire,
    weights: NamedTensor[],
    features: Uint8Array | Float32Array,
    shape: number[],
  ): Promise<Float32Array>
}

export interface TryScreenOptions {
  db: PollenDatabase
  server: string
  /** The tasks the coordinator offers (enrols first when needed). */
  tasks: () => Promise<DeviceTaskView[]>
  /** Loaded on first use: TF.js stays out of the page until someone tries a model. */
  predictor?: () => Promise<Predictor>
  document?: Document
}

export interface TryScreen {
  /** Lists the tasks again. */
  refresh(): Promise<void>
}

const workerPredictor = async (): Promise<Predictor> => {
  const { createWorkerTrainer } = await import('../training/index.ts')
  return createWorkerTrainer()
}

/** Mounts the Try screen: wires the task choice, the drawing pad, the image picker and the model. */
export function mountTryScreen({
  db,
  server,
  tasks,
  predictor = workerPredictor,
  document = globalThis.document,
}: TryScreenOptions): TryScreen {
  const select = byId(document, 'try-task', HTMLSelectElement)
  const modelText = byId(document, 'try-model', HTMLParagraphElement)
  const form = byId(document, 'try-form', HTMLFormElement)
  const run = byId(document, 'try-run', HTMLButtonElement)
  const file = byId(document, 'try-file', HTMLInputElement)
  const message = byId(document, 'try-message', HTMLParagraphElement)
  const reading = {
    result: byId(document, 'try-result', HTMLElement),
    digit: byId(document, 'try-digit', HTMLElement),
    confidence: byId(document, 'try-confidence', HTMLSpanElement),
    preview: byId(document, 'try-preview', HTMLCanvasElement),
    probs: byId(document, 'try-probs', HTMLOListElement),
  }
  const note = byId(document, 'try-note', HTMLParagraphElement)
  const pad = mountDrawPad(byId(document, 'try-pad', HTMLCanvasElement))
  let running: Promise<Predictor> | null = null
  let busy = false
  /** The tasks listed, by id, for what the screen says of the model chosen. */
  let views = new Map<string, DeviceTaskView>()

  const say = (text: string, tone: 'ok' | 'error' | 'info' = 'info') => {
    message.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    message.className = `message ${tone}`
    message.textContent = text
    // The message is below the pad: on a phone, bring a problem on screen.
    if (tone === 'error') message.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
  }

  async function refresh(): Promise<void> {
    const wanted = select.value
    const choices = await tryChoices({
      tasks,
      joined: async () => new Set((await readLedger(db)).map((r) => r.taskId)),
      stored: () => storedTryModels(db),
    })
    views = choices.views
    const { offered } = choices
    select.replaceChildren(
      ...(offered.length === 0
        ? [h(document, 'option', null, 'No model to try')]
        : offered.map((t) => {
            const option = h(document, 'option', null, t.name)
            option.value = t.id
            return option
          })),
    )
    if (offered.some((t) => t.id === wanted)) select.value = wanted
    select.disabled = offered.length === 0
    run.disabled = busy || offered.length === 0
    modelText.textContent = choices.note || chosenText(views.get(select.value))
  }

  select.addEventListener('change', () => {
    modelText.textContent = chosenText(views.get(select.value))
  })

  /** Reads `example` with the chosen task's model, fetched (or kept) first. */
  async function read(example: Uint8Array): Promise<void> {
    const taskId = select.value
    if (!taskId) {
      say('There is no model to try: no task is offered, and none was kept on this phone.', 'error')
      return
    }
    // The task's own name (the option's may say it ended), as the model is kept under it.
    const taskName = views.get(taskId)?.name ?? select.selectedOptions[0]?.textContent ?? taskId
    busy = true
    run.disabled = true
    form.setAttribute('aria-busy', 'true')
    say('Getting the model…')
    try {
      const enrolment = await loadEnrolment(db)
      if (!enrolment) {
        say('This phone is not enrolled with the coordinator yet: open Tasks once online.', 'error')
        return
      }
      const model = await loadTryModel({ db, server, taskId, taskName, token: enrolment.token })
      modelText.textContent = describeModel(model, taskName, views.get(model.taskId))
      say('Reading your digit on this phone…')
      running ??= predictor()
      running.catch(() => (running = null))
      const p = await (await running).predict(model.spec, model.weights, example, [...MNIST_SHAPE])
      showReading(document, reading, example, p)
      note.hidden = model.committedRounds !== 0
      say('')
      // The reading is below the pad: on a phone, bring it on screen.
      reading.result.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
    } catch (error) {
      reading.result.hidden = true
      say(
        error instanceof TryModelError
          ? error.message
          : `The model could not run on this phone: ${error instanceof Error ? error.message : String(error)}`,
        'error',
      )
    } finally {
      busy = false
      run.disabled = select.disabled
      form.removeAttribute('aria-busy')
    }
  }

  byId(document, 'try-clear', HTMLButtonElement).addEventListener('click', () => {
    pad.clear()
    reading.result.hidden = true
    say('')
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (busy) return
    const example = pad.example()
    if (!example) {
      say('The drawing area is empty: draw a digit first.', 'error')
      return
    }
    void read(example)
  })
  file.addEventListener('change', () => {
    const chosen = file.files?.[0]
    if (!chosen || busy) return
    decodeImage(chosen)
      .then((image) => {
        const example = toMnist(inkOf(luminance(image.rgba, image.width, image.height)))
        if (!example) say(`${chosen.name}: there is no digit in it (the image is blank).`, 'error')
        else return read(example)
      })
      .catch(() => say(`${chosen.name}: not an image this phone can read.`, 'error'))
  })

  return { refresh }
}
