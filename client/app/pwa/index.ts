import { Workbox } from 'workbox-window'
import { UPLOADS_SENT_MESSAGE } from './caches.ts'

export {
  DATA_CACHE,
  DEMO_DATA_PATH,
  DEMO_DATA_URL_PATTERN,
  evictCached,
  MODEL_CACHE,
  MODEL_URL_PATTERN,
  UPLOAD_SYNC_TAG,
  UPLOADS_SENT_MESSAGE,
} from './caches.ts'

/**
 * Asks the service worker for a Background Sync of `tag`, so it runs when the network returns
 * even if this page is closed. False where the browser has no Background Sync (then the page
 * sends when it is open again).
 */
export async function requestBackgroundSync(tag: string): Promise<boolean> {
  if (!('serviceWorker' in navigator)) return false
  const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
    sync?: { register(tag: string): Promise<void> }
  }
  if (!registration.sync) return false
  await registration.sync.register(tag)
  return true
}

/** Calls `listener` when the service worker sent queued updates (on a Background Sync). */
export function onUploadsSent(listener: () => void): void {
  navigator.serviceWorker?.addEventListener('message', (event: MessageEvent) => {
    if ((event.data as { type?: string } | null)?.type === UPLOADS_SENT_MESSAGE) listener()
  })
}

/** Where vite-plugin-pwa writes the service worker (see vite.config.ts). */
export const SERVICE_WORKER_URL = '/sw.js'

export interface ServiceWorkerOptions {
  url?: string
  /** The app shell is cached: the app now opens without a network. */
  onOfflineReady?: () => void
  /**
   * A new version is installed and waiting. Calling `activate` hands it control and reloads
   * the page; until then this page keeps the version it loaded with (a reload mid-training
   * would cost the owner the round's work).
   */
  onUpdateReady?: (activate: () => void) => void
}

/**
 * Registers the Workbox service worker. The first install takes control of the page at once
 * (clientsClaim), so one visit is enough for the app to open offline.
 */
export function registerServiceWorker({
  url = SERVICE_WORKER_URL,
  onOfflineReady,
  onUpdateReady,
}: ServiceWorkerOptions = {}): Workbox | null {
  if (!('serviceWorker' in navigator)) return null
  const wb = new Workbox(url)
  wb.addEventListener('waiting', () => {
    onUpdateReady?.(() => {
      wb.addEventListener('controlling', () => window.location.reload())
      wb.messageSkipWaiting()
    })
  })
  wb.addEventListener('controlling', (event) => {
    if (!event.isUpdate) onOfflineReady?.()
  })
  // A page already controlled by this service worker is ready now.
  if (navigator.serviceWorker.controller) onOfflineReady?.()
  wb.register().catch((error: unknown) => {
    console.warn(
      'Pollen: the service worker did not register; the app will not open offline.',
      error,
    )
  })
  return wb
}
