// "Try the model": the owner draws a digit (or picks an image of one) and the phone reads it with
// a task's current global model, in the training worker. Nothing about the drawing leaves it.
import type { DeviceTaskView, ModelSpecWire } from '../../../shared/protocol/index.ts'
import type { NamedTensor } from '../../../shared/tensors/index.ts'
import { loadEnrolment } from '../contribute/index.ts'
import { decodeImage } from '../data/import.ts'
import { byId, h } from '../../ui/dom.ts'
import { inkOf, luminance, mountDrawPad, paintExample, toMnist } from '../draw/index.ts'
import { readLedger } from '../privacy/ledger.ts'
import type { PollenDatabase } from '../storage/index.ts'
import { endedText, formatAccuracy, isEnded } from '../tasks/describe.ts'
import { loadTryModel, storedTryModels, type TryModel, TryModelError } from './model.ts'

export { loadTryModel, storedTryModels, TryModelError } from './model.ts'
export type { TryModel, TryModelErrorCode } from './model.ts'

/** What runs the model: the training worker's `predict`. */
export interface Predictor {
  predict(spec: ModelSpecWire, weights: NamedTensor[], pixels: Uint8Array): Promise<Float32Array>
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

/**
 * The tasks whose model can be tried: those on offer, and those that ended which this phone took
 * part in (its privacy ledger keeps every task it joined, withdrawn or not).
 */
export function triable(
  tasks: readonly DeviceTaskView[],
  joined: ReadonlySet<string>,
): DeviceTaskView[] {
  return tasks.filter((t) => !isEnded(t.status) || joined.has(t.id))
}

const joinedTasks = async (db: PollenDatabase) =>
  new Set((await readLedger(db)).map((r) => r.taskId))

/** "Current model: 3 of 20 rounds committed; held-out accuracy 80.1%." */
function currentText(task: DeviceTaskView): string {
  const unit = task.mode === 'async' ? 'model versions' : 'rounds'
  const accuracy =
    task.accuracy === null ? '' : `; held-out accuracy ${formatAccuracy(task.accuracy)}`
  return `Current model: ${task.rounds.committed} of ${task.rounds.total} ${unit} committed${accuracy}.`
}

const percent = (p: number) => `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`

/** Mounts the Try screen. */
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
  const result = byId(document, 'try-result', HTMLElement)
  const digit = byId(document, 'try-digit', HTMLElement)
  const confidence = byId(document, 'try-confidence', HTMLSpanElement)
  const preview = byId(document, 'try-preview', HTMLCanvasElement)
  const probs = byId(document, 'try-probs', HTMLOListElement)
  const note = byId(document, 'try-note', HTMLParagraphElement)
  const pad = mountDrawPad(byId(document, 'try-pad', HTMLCanvasElement))
  let running: Promise<Predictor> | null = null
  let busy = false

  const say = (text: string, tone: 'ok' | 'error' | 'info' = 'info') => {
    message.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    message.className = `message ${tone}`
    message.textContent = text
    // The message is below the pad: on a phone, bring a problem on screen.
    if (tone === 'error') message.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
  }

  /** The tasks listed, by id, for what the screen says of the model chosen. */
  let views = new Map<string, DeviceTaskView>()

  async function refresh(): Promise<void> {
    const wanted = select.value
    let offered: { id: string; name: string }[]
    let note = ''
    try {
      const listed = triable(await tasks(), await joinedTasks(db))
      views = new Map(listed.map((t) => [t.id, t]))
      offered = listed.map((t) => ({
        id: t.id,
        name: isEnded(t.status) ? `${t.name} (final model)` : t.name,
      }))
      if (offered.length === 0)
        note =
          'The coordinator offers no task right now, so there is no model to try. ' +
          'A data scientist has to start one first.'
    } catch {
      // Offline (or the coordinator is down): the models this phone kept still work.
      views = new Map()
      offered = (await storedTryModels(db)).map((m) => ({ id: m.taskId, name: m.taskName }))
      note =
        offered.length === 0
          ? 'There is no connection to the coordinator, and this phone has not kept a model ' +
            'yet. Try the model once while online; after that it works offline too.'
          : 'Offline: only the models this phone kept can be tried.'
    }
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
    modelText.textContent = note || chosenText()
  }

  /** What the coordinator last said of the chosen task's model: how far, how accurate. */
  function chosenText(): string {
    const task = views.get(select.value)
    if (!task) return ''
    return isEnded(task.status) ? (endedText(task) ?? '') : currentText(task)
  }
  select.addEventListener('change', () => {
    modelText.textContent = chosenText()
  })

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
      describe(model, taskName)
      say('Reading your digit on this phone…')
      running ??= predictor()
      running.catch(() => (running = null))
      const p = await (await running).predict(model.spec, model.weights, example)
      show(example, p)
      note.hidden = model.committedRounds !== 0
      say('')
      // The reading is below the pad: on a phone, bring it on screen.
      result.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
    } catch (error) {
      result.hidden = true
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

  function describe(model: TryModel, taskName: string) {
    const preset = model.spec.preset === 'custom' ? 'a custom model' : model.spec.preset
    const rounds =
      model.committedRounds === null
        ? ''
        : model.committedRounds === 0
          ? ', not trained yet (round 0)'
          : `, after ${model.committedRounds} round${model.committedRounds === 1 ? '' : 's'}`
    const where =
      model.from === 'download'
        ? 'Downloaded now and kept on this phone.'
        : model.from === 'stored'
          ? 'Kept on this phone: nothing downloaded.'
          : `Offline: the copy kept on this phone since ${new Date(model.storedAt).toLocaleString()}.`
    const task = views.get(model.taskId)
    const accuracy =
      task?.accuracy != null && task.rounds.committed === model.committedRounds
        ? ` Held-out accuracy ${formatAccuracy(task.accuracy)}.`
        : ''
    const final =
      task && isEnded(task.status) ? ' The task has ended: this is its final model.' : ''
    modelText.textContent = `${taskName}: ${preset}${rounds}.${accuracy}${final} ${where}`
  }

  function show(example: Uint8Array, p: Float32Array) {
    const values = Array.from(p)
    const best = values.indexOf(Math.max(...values))
    paintExample(preview, example)
    digit.textContent = String(best)
    confidence.textContent = `${percent(values[best]!)} sure`
    probs.replaceChildren(
      ...values.map((value, label) => {
        const fill = h(document, 'span', 'fill')
        fill.style.width = `${100 * value}%`
        const track = h(document, 'span', 'track', fill)
        track.setAttribute('aria-hidden', 'true')
        const item = h(
          document,
          'li',
          label === best ? 'best' : null,
          h(document, 'span', 'digit', h(document, 'span', 'sr', 'Digit '), String(label)),
          track,
          h(document, 'span', 'value', percent(value)),
        )
        item.dataset.digit = String(label)
        item.dataset.probability = String(value)
        return item
      }),
    )
    result.hidden = false
  }

  byId(document, 'try-clear', HTMLButtonElement).addEventListener('click', () => {
    pad.clear()
    result.hidden = true
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
