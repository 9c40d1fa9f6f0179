// The app shell's entry. Small on purpose: no UI framework, no TF.js (training will load it in
// a worker); vite.config.ts fails the build if TF.js reaches this bundle.
import { mountDataScreen } from './data/index.ts'
import { byId } from './dom.ts'
import { registerServiceWorker } from './pwa/index.ts'
import { openPollenDB } from './storage/index.ts'

function showNetwork(): void {
  byId(document, 'network', HTMLSpanElement).hidden = navigator.onLine
}

async function start(): Promise<void> {
  showNetwork()
  window.addEventListener('online', showNetwork)
  window.addEventListener('offline', showNetwork)

  if (import.meta.env.PROD) {
    registerServiceWorker({
      onOfflineReady: () => {
        byId(document, 'offline-ready', HTMLSpanElement).hidden = false
      },
      onUpdateReady: (activate) => {
        const toast = byId(document, 'update', HTMLDivElement)
        toast.hidden = false
        byId(document, 'update-reload', HTMLButtonElement).addEventListener('click', activate, {
          once: true,
        })
      },
    })
  }

  const summary = byId(document, 'summary', HTMLParagraphElement)
  let db
  try {
    db = await openPollenDB()
  } catch (error) {
    summary.textContent =
      'This browser does not let Pollen store data (IndexedDB is unavailable, as in some ' +
      `private windows): ${error instanceof Error ? error.message : String(error)}`
    summary.setAttribute('role', 'alert')
    return
  }
  await mountDataScreen({ db }).refresh()
  document.documentElement.dataset.ready = 'true'
}

start().catch((error: unknown) => {
  const summary = document.getElementById('summary')
  if (summary) {
    summary.setAttribute('role', 'alert')
    summary.textContent = `Pollen could not start: ${error instanceof Error ? error.message : String(error)}`
  }
})
