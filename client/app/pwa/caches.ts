// Cache names and routes of the service worker, defined once: vite.config.ts builds the
// Workbox runtime caching from them and the page evicts from them.

/** The demo digits, `/data/mnist.bin` (CacheFirst). */
export const DATA_CACHE = 'pollen-data'
/** Model blobs, `/api/v1/models/<sha256>`: immutable, so CacheFirst. */
export const MODEL_CACHE = 'pollen-models'

export const DEMO_DATA_PATH = '/data/mnist.bin'

/** The Background Sync tag for queued weight updates (client/app/outbox). */
export const UPLOAD_SYNC_TAG = 'pollen-uploads'
/** The message the service worker posts to open pages after it sent queued updates. */
export const UPLOADS_SENT_MESSAGE = 'pollen-uploads-sent'
/** Matches a model blob URL (Workbox tests the whole URL of a same-origin request). */
export const MODEL_URL_PATTERN = /\/api\/v1\/models\/[0-9a-f]{64}$/
export const DEMO_DATA_URL_PATTERN = /\/data\/mnist\.bin$/

/**
 * Drops a cached response, so that the next fetch goes to the network: after a cached file
 * turned out damaged, CacheFirst would otherwise serve the same bad bytes for ever.
 */
export async function evictCached(cacheName: string, url: string): Promise<boolean> {
  if (typeof caches === 'undefined') return false
  try {
    const cache = await caches.open(cacheName)
    return await cache.delete(url)
  } catch {
    return false
  }
}
