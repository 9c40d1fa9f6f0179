// The app shell's entry. Small on purpose: no UI framework, no TF.js (training will load it in
// a worker); vite.config.ts fails the build if TF.js reaches this bundle.
import { loadContributor, loadWorkerTrainer, mountContributeStatus } from './contribute/index.ts'
import type { DeviceTaskView } from '../../shared/protocol/index.ts'
import { mountDataScreen } from './data/index.ts'
import { byId } from '../ui/dom.ts'
import { mountHistoryScreen } from './history/index.ts'
import type { PrivacyScreen } from './privacy/index.ts'
import {
  onUploadsSent,
  registerServiceWorker,
  requestBackgroundSync,
  UPLOAD_SYNC_TAG,
} from './pwa/index.ts'
import { openPollenDB, type PollenDatabase } from './storage/index.ts'
import type { TryScreen } from './try/index.ts'
import {
  createConsentStore,
  mountTasksScreen,
  type TasksScreen,
  watchConditions,
} from './tasks/index.ts'

const SCREENS = ['data', 'tasks', 'try', 'history', 'privacy'] as const
type Screen = (typeof SCREENS)[number]

/** Shows one screen (from the URL's hash) and marks its tab; `refresh` redraws it. */
function navigate(refresh: Record<Screen, () => Promise<void>>): void {
  const show = (focus: boolean) => {
    const wanted = window.location.hash.slice(1)
    const screen: Screen = SCREENS.find((s) => s === wanted) ?? 'data'
    for (const section of document.querySelectorAll<HTMLElement>('[data-screen]'))
      section.hidden = section.dataset.screen !== screen
    for (const tab of document.querySelectorAll<HTMLAnchorElement>('[data-tab]')) {
      if (tab.dataset.tab === screen) tab.setAttribute('aria-current', 'page')
      else tab.removeAttribute('aria-current')
    }
    if (focus) document.getElementById(`${screen}-title`)?.focus()
    refresh[screen]().catch((error: unknown) => console.warn('Pollen:', error))
  }
  window.addEventListener('hashchange', () => show(true))
  show(false)
}

async function mountScreens(db: PollenDatabase): Promise<void> {
  // The data screen serves the datasets of the tasks offered: asked of the contributor's link,
  // made below (the screen first asks when it is refreshed, after that).
  let offered = (): Promise<DeviceTaskView[]> => Promise.reject(new Error('not started'))
  const data = mountDataScreen({ db, tasks: () => offered() })
  const history = mountHistoryScreen({ db })
  const consents = createConsentStore({ db })
  const conditions = await watchConditions()
  const status = mountContributeStatus()
  const contributor = await loadContributor({
    db,
    server: window.location.origin,
    trainer: loadWorkerTrainer,
    consents,
    conditions,
    onState: status.show,
    requestSync: async () => {
      if (import.meta.env.PROD) await requestBackgroundSync(UPLOAD_SYNC_TAG)
    },
    onRound: (record) => {
      status.round(record)
      // The rounds done changed, the history grew, and the ledger counted one more (its ε comes
      // with the task list the tasks screen fetches).
      Promise.all([tasks.refresh().then(privacy.refresh), history.refresh()]).catch(() => {})
    },
  })
  offered = () => contributor.tasks()
  const tasks: TasksScreen = mountTasksScreen({
    consents,
    conditions,
    offered: () => contributor.tasks(),
  })
  // Loaded when first shown: the page's first bundle stays within its budget.
  let tryScreen: Promise<TryScreen> | null = null
  const showTry = async () => {
    tryScreen ??= import('./try/index.ts').then(({ mountTryScreen }) =>
      mountTryScreen({ db, server: window.location.origin, tasks: () => contributor.tasks() }),
    )
    await (await tryScreen).refresh()
  }
  // The same: the ledger's screen is drawn once it is shown, then kept up to date.
  let privacyScreen: Promise<PrivacyScreen> | null = null
  const privacy = {
    refresh: async () => {
      if (privacyScreen) await (await privacyScreen).refresh()
    },
    /** The ledger as stored at once, then again with the coordinator's latest ε if it answers. */
    show: async () => {
      privacyScreen ??= import('./privacy/index.ts').then(({ mountPrivacyScreen }) =>
        mountPrivacyScreen({ db }),
      )
      const screen = await privacyScreen
      await screen.refresh()
      if (await contributor.tasks().catch(() => null)) await screen.refresh()
    },
  }
  await Promise.all([data.refresh(), data.ready()])
  navigate({
    data: () => data.refresh(),
    tasks: tasks.refresh,
    try: showTry,
    history: history.refresh,
    privacy: privacy.show,
  })
  contributor.start()
  // The service worker sent what waited (Background Sync): show it, and carry on.
  onUploadsSent(() => {
    Promise.all([tasks.refresh().then(privacy.refresh), history.refresh()]).catch(() => {})
    contributor.wake()
  })
}

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
  await mountScreens(db)
  document.documentElement.dataset.ready = 'true'
}

start().catch((error: unknown) => {
  const summary = document.getElementById('summary')
  if (summary) {
    summary.setAttribute('role', 'alert')
    summary.textContent = `Pollen could not start: ${error instanceof Error ? error.message : String(error)}`
  }
})
