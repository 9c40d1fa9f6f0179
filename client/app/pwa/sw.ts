// The service worker: the app shell precached (the list is injected at build time), models and
// the demo digits cached by content, and queued weight updates sent on a Background Sync event
// (client/app/outbox), so an update trained offline goes out even if the page was closed.
import { CacheableResponsePlugin } from 'workbox-cacheable-response'
import { clientsClaim, type WorkboxPlugin } from 'workbox-core'
import { ExpirationPlugin } from 'workbox-expiration'
import {
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  precacheAndRoute,
  type PrecacheEntry,
} from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { CacheFirst } from 'workbox-strategies'
import { deliverPending } from '../outbox/index.ts'
import { openPollenDB } from '../storage/index.ts'
import {
  DATA_CACHE,
  DEMO_DATA_URL_PATTERN,
  MODEL_CACHE,
  MODEL_URL_PATTERN,
  UPLOAD_SYNC_TAG,
  UPLOADS_SENT_MESSAGE,
} from './caches.ts'

/** What this file needs of ServiceWorkerGlobalScope (the DOM lib, not WebWorker's, is loaded). */
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface SyncEvent extends ExtendableEvent {
  readonly tag: string
  /** The browser will not retry after this attempt. */
  readonly lastChance: boolean
}
interface ServiceWorkerScope {
  clients: {
    matchAll(options: {
      includeUncontrolled: boolean
    }): Promise<{ postMessage(m: unknown): void }[]>
  }
  /** The precache list: the build replaces `self.__WB_MANIFEST`, written so, with it. */
  __WB_MANIFEST: (PrecacheEntry | string)[]
  location: Location
  skipWaiting(): Promise<void>
  addEventListener(type: 'sync', listener: (event: SyncEvent) => void): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
}
declare const self: ServiceWorkerScope
const sw = self

precacheAndRoute(self.__WB_MANIFEST)
cleanupOutdatedCaches()
// The first install takes the open page at once, so one visit is enough to work offline; an
// update waits until the page asks (it would otherwise reload the page mid-training).
clientsClaim()
sw.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void sw.skipWaiting()
})

// Navigations to the coordinator's own pages go to the network: the API, the metrics and the
// data scientist's dashboard are not the phone app's shell.
/**
 * Workbox's plugin classes declare their hooks as `T | undefined`, which its own WorkboxPlugin
 * type does not take under exactOptionalPropertyTypes: the same objects, as the type they are.
 */
const plugins = (...list: object[]) => list as WorkboxPlugin[]

registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    denylist: [/^\/api\//, /^\/data\//, /^\/metrics/, /^\/healthz/, /^\/dashboard(\/|$)/],
  }),
)
registerRoute(
  MODEL_URL_PATTERN,
  new CacheFirst({
    cacheName: MODEL_CACHE,
    plugins: plugins(
      new ExpirationPlugin({ maxEntries: 8 }),
      new CacheableResponsePlugin({ statuses: [200] }),
    ),
  }),
)
registerRoute(
  DEMO_DATA_URL_PATTERN,
  new CacheFirst({
    cacheName: DATA_CACHE,
    plugins: plugins(new CacheableResponsePlugin({ statuses: [200] })),
  }),
)

sw.addEventListener('sync', (event) => {
  if (event.tag !== UPLOAD_SYNC_TAG) return
  event.waitUntil(
    (async () => {
      const db = await openPollenDB()
      try {
        const report = await deliverPending(db, { server: sw.location.origin })
        // Open pages show the history and the contribution state: tell them it changed.
        if (report.answered + report.expired > 0) {
          const pages = await sw.clients.matchAll({ includeUncontrolled: true })
          for (const page of pages) page.postMessage({ type: UPLOADS_SENT_MESSAGE })
        }
        // Rejecting asks the browser to try this sync again later (with its own backoff).
        if (report.waiting > 0 && !event.lastChance) {
          throw new Error(`${report.waiting} update(s) still wait for the network`)
        }
      } finally {
        db.close()
      }
    })(),
  )
})
