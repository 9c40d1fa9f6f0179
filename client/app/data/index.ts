import { NUM_LABELS } from '../../../shared/data/index.ts'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { byId } from '../../ui/dom.ts'
import { deleteAllExamples, labelCounts, type PollenDatabase, STORES } from '../storage/index.ts'
import { showCounts } from './counts.ts'
import { DEMO_DATASET, DEMO_KINDS, DemoDataError, type DemoKind, loadDemoData } from './demo.ts'

export { DEMO_DATASET, DemoDataError, loadDemoData, pickDemoShard } from './demo.ts'
export type { DemoDataErrorCode, DemoKind } from './demo.ts'

export interface DataScreenOptions {
  db: PollenDatabase
  document?: Document
  /** Injected by tests; the real one downloads `/data/mnist.bin`. */
  loadDemo?: typeof loadDemoData
  /**
   * The tasks the coordinator offers (rejects when it cannot be asked): each dataset they train
   * on gets its own card; the demo's digits keep theirs.
   */
  tasks?: () => Promise<readonly Pick<DeviceTaskView, 'status' | 'datasetSpec'>[]>
  /** The camera (tests may inject one). */
  media?: Pick<MediaDevices, 'getUserMedia'> | undefined
}

export interface DataScreen {
  /** Reads the stored counts again and redraws. */
  refresh(): Promise<void>
  /** Resolves when "Draw a digit" and "Import images" work (their code loads apart). */
  ready(): Promise<void>
}

/**
 * The data screen: a card per dataset that the phone's tasks train on (data/datasets.ts), the
 * demo's digits (counts per digit, draw one, import images, "Load demo data": IID or two
 * digits), and "Delete my data" (every dataset) behind a confirmation.
 */
export function mountDataScreen({
  db,
  document = globalThis.document,
  loadDemo = loadDemoData,
  tasks = () => Promise.resolve([]),
  media,
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

  /** The demo's counts, and every dataset's total (what "Delete my data" removes). */
  async function refreshDigits(): Promise<void> {
    const [perLabel, demo, all] = await Promise.all([
      labelCounts(db, DEMO_DATASET, NUM_LABELS),
      db.get('settings', 'demo'),
      db.count(STORES.examples),
    ])
    total = all
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
    mountOwnData({ db, dataset: DEMO_DATASET, document, onStored: refreshDigits }),
  )
  // The other datasets' cards: loaded apart too (the crop, the camera, the CSV reader).
  const cards = import('./datasets.ts').then(({ mountPageCards }) =>
    mountPageCards({ db, document, tasks, except: DEMO_DATASET, onChanged: refreshDigits, media }),
  )
  for (const [part, what] of [
    [own, 'Drawing and importing'],
    [cards, 'Your datasets'],
  ] as const) {
    part.catch((error: unknown) =>
      say(
        `${what} could not start: ${error instanceof Error ? error.message : String(error)}`,
        'error',
      ),
    )
  }

  async function refresh(): Promise<void> {
    await refreshDigits()
    await (await cards.catch(() => null))?.refresh()
  }

  return {
    refresh,
    ready: () =>
      Promise.all([own, cards]).then(
        () => undefined,
        () => undefined,
      ),
  }
}
