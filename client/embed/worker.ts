// The training worker the phone app uses (client/app/training/worker.ts), started by a page of
// another origin: a browser starts workers only from the page's own origin, so a tiny module
// worker from a blob URL imports the coordinator's worker script (a module import: CORS, which
// the coordinator answers for /assets/*). Inside it, the worker finds its chunks and wasm
// binaries from its own module URL, on the coordinator.
import workerUrl from '../app/training/worker.ts?worker&url'

/** The built training worker's URL on the coordinator that served this module. */
export const trainingWorkerUrl = (base: string = import.meta.url): URL => new URL(workerUrl, base)

/** How long the blob URL stays valid: the browser fetches it when the worker starts. */
const BLOB_LIFETIME_MS = 60_000

/** The source of the blob worker: it imports the worker script, nothing else. */
export const bootstrapSource = (url: URL): string => `import ${JSON.stringify(url.href)}\n`

/** Starts the training worker, from this page's origin or through a blob from another. */
export function startTrainingWorker(url: URL = trainingWorkerUrl()): Worker {
  const options: WorkerOptions = { type: 'module', name: 'pollen-training' }
  if (url.origin === globalThis.location?.origin) return new Worker(url, options)
  const blob = URL.createObjectURL(new Blob([bootstrapSource(url)], { type: 'text/javascript' }))
  setTimeout(() => URL.revokeObjectURL(blob), BLOB_LIFETIME_MS)
  return new Worker(blob, options)
}
