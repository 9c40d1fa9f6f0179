import { NUM_LABELS } from '../../../shared/data/index.ts'
import { byId } from '../../ui/dom.ts'
import { deleteAllExamples, labelCounts, type PollenDatabase } from '../storage/index.ts'
import { showCounts } from './counts.ts'
import { DEMO_DATASET, DEMO_KINDS, DemoDataError, type DemoKind, loadDemoData } from './demo.ts'

export { DEMO_DATASET, DemoDataError, loadDemoData, pickDemoShard } from './demo.ts'
export type { DemoDataErrorCode, DemoKind } from './demo.ts'

export interface DataScreenOptions {
  db: PollenDatabase
  document?: Document
  /** Injected by tests; the real one downloads `/data/mnist.bin`. */
  loadDemo?: typeof loadDemoData
}

export interface DataScreen {
  /** Reads the stored counts again and redraws. */
  refresh(): Promise<void>
  /** Resolves when "Draw a digit" and "Import images" work (their code loads apart). */
  ready(): Promise<void>
}

/**
 * The data screen: what is stored (counts per digit), the owner's own digits (draw one, import
 * images), "Load demo data" (IID or two digits), and "Delete my data" behind a confirmation.
 */
export function mountDataScreen({
  db,
  document = globalThis.document,
  loadDemo = loadDemoData,
}: DataScreenOptions): DataScreen {
  const summary = byId(document, 'summary', HTMLParagraphElement)
  const counts = byId(document, 'counts', HTMLUListElement)
  const form = byId(document, 'demo-form', HTMLFormElement)
  const load = byId(document, 'load', HTMLButtonElement)
  const progress = byId(document, 'progress', HTMLProgressElement)
  const message = byId(document, 'message', HTMLParagraphElement)
  const remove = byId(document, 'delete', HTMLButtonElement)
  const dialog = byId(document, 'confirm-delete', HTMLDialogElement)
  const dialogText = byId(document, 'confirm-text', HTMLParagraphElement)
  let total = 0
  let busy = false

  const say = (text: string, tone: 'ok' | 'error' | 'info' = 'info') => {
    message.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    message.className = `message ${tone}`
    message.textContent = text
  }

  const setBusy = (value: boolean) => {
    busy = value
    form.setAttribute('aria-busy', String(value))
    for (const control of form.querySelectorAll('input, button')) {
      ;(control as HTMLInputElement | HTMLButtonElement).disabled = value
    }
    remove.disabled = value || total === 0
  }

  async function refresh(): Promise<void> {
    const [perLabel, demo] = await Promise.all([
      labelCounts(db, DEMO_DATASET, NUM_LABELS),
      db.get('settings', 'demo'),
    ])
    total = perLabel.reduce((a, b) => a + b, 0)
    remove.disabled = busy || total === 0
    showCounts(document, { summary, counts }, perLabel, demo?.key === 'demo' ? demo : undefined)
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (busy) return
    const choice = new FormData(form).get('kind')
    const kind: DemoKind = DEMO_KINDS.find((k) => k === choice) ?? 'iid'
    // Disabling the focused button drops focus; give it back afterwards.
    const hadFocus = form.contains(document.activeElement)
    setBusy(true)
    progress.hidden = false
    progress.removeAttribute('value')
    say('Downloading the demo digits…')
    loadDemo(db, {
      kind,
      onProgress: (loaded, size) => {
        if (size) progress.value = loaded / size
      },
    })
      .then(async (demo) => {
        say(`Stored ${demo.count.toLocaleString('en')} demo digits on this phone.`, 'ok')
        await refresh()
        // Ask the browser not to evict the owner's data under storage pressure.
        await navigator.storage?.persist?.().catch(() => false)
      })
      .catch((error: unknown) => {
        say(
          error instanceof DemoDataError
            ? error.message
            : `Loading the demo digits failed: ${error instanceof Error ? error.message : String(error)}`,
          'error',
        )
      })
      .finally(() => {
        progress.hidden = true
        setBusy(false)
        if (hadFocus && !form.contains(document.activeElement)) load.focus()
      })
  })

  remove.addEventListener('click', () => {
    dialogText.textContent =
      `This removes all ${total.toLocaleString('en')} example${total === 1 ? '' : 's'} ` +
      'stored on this phone. It cannot be undone.'
    dialog.returnValue = ''
    dialog.showModal()
  })

  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'delete') {
      remove.focus()
      return
    }
    setBusy(true)
    deleteAllExamples(db)
      .then(async (count) => {
        say(`Deleted ${count.toLocaleString('en')} example${count === 1 ? '' : 's'}.`, 'ok')
        await refresh()
      })
      .catch((error: unknown) => {
        say(`Deleting failed: ${error instanceof Error ? error.message : String(error)}`, 'error')
      })
      .finally(() => {
        setBusy(false)
        load.focus()
      })
  })

  // Drawn and imported digits join the demo's dataset: what an MNIST task trains on. Loaded
  // apart so that the page's first bundle stays within its budget.
  const own = import('./own.ts').then(({ mountOwnData }) =>
    mountOwnData({ db, dataset: DEMO_DATASET, document, onStored: refresh }),
  )
  own.catch((error: unknown) =>
    say(
      `Drawing and importing could not start: ${error instanceof Error ? error.message : String(error)}`,
      'error',
    ),
  )

  return { refresh, ready: () => own.catch(() => undefined) }
}
