// Trained updates on their way to the coordinator. Stored first, then sent, so that neither a
// lost network nor a closed page loses a round's work: the page sends them when the network
// returns or the app opens again, and the service worker on a Background Sync event. Imported by
// both, so it uses only IndexedDB and the device's HTTP client (no device runtime, no schemas:
// zod stays out of the service worker).
import type { UploadAnswer, UploadOutcome } from '../../../shared/protocol/index.ts'
import { createDeviceHttp, readError } from '../../device/http.ts'
import {
  type HistoryRecord,
  type PendingUpload,
  type PollenDatabase,
  roundDownload,
  STORES,
} from '../storage/index.ts'
import { recordRound } from '../history/store.ts'

export { UPLOAD_SYNC_TAG } from '../pwa/caches.ts'

/** The answers an upload can get (the protocol's UPLOAD_OUTCOMES, checked by the compiler). */
const OUTCOMES: Record<UploadOutcome, true> = {
  accepted: true,
  late: true,
  duplicate: true,
  'unknown-round': true,
  rejected: true,
  stale: true,
}

/** How long one sender holds an upload before another may try it. */
const CLAIM_MS = 60_000

export const uploadKey = (taskId: string, round: number) => `${taskId}/${round}`

/** Updates waiting to be sent, oldest first. */
export async function pendingUploads(db: PollenDatabase): Promise<PendingUpload[]> {
  return (await db.getAll(STORES.uploads)).sort((a, b) => a.queuedAt - b.queuedAt)
}

export interface DeliverOptions {
  /** The coordinator's origin. */
  server: string
  fetch?: typeof globalThis.fetch
  now?: () => number
  /** Each round that ended here (answered, or expired), after it went into the history. */
  onRecord?: (record: HistoryRecord) => void
}

export interface DeliverReport {
  /** Answered or refused by the coordinator (accepted or not), now in the history. */
  answered: number
  /** Past their deadline before they could be sent; in the history as expired. */
  expired: number
  /** Still waiting: the network or the coordinator did not answer. */
  waiting: number
}

/**
 * Sends every pending update that no other sender holds. An answer of any kind, or a refusal
 * (4xx), ends the upload (the history keeps it); a network failure or a 5xx keeps it for the
 * next try; one past its deadline is dropped as expired (the coordinator would only answer
 * `late`).
 */
export async function deliverPending(
  db: PollenDatabase,
  options: DeliverOptions,
): Promise<DeliverReport> {
  const now = options.now ?? Date.now
  const report: DeliverReport = { answered: 0, expired: 0, waiting: 0 }
  const token = await deviceToken(db)
  const http = createDeviceHttp({
    server: options.server,
    token: () => token,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  for (const pending of await pendingUploads(db)) {
    const upload = await claim(db, pending.key, now())
    if (!upload) continue
    if (now() > upload.deadlineAt) {
      await finish(db, upload, options, now(), {
        outcome: 'expired',
        detail: 'The deadline passed before the network came back; the update was not sent.',
      })
      report.expired += 1
      continue
    }
    let answer: UploadAnswer | null = null
    let refusal = ''
    let failure = ''
    try {
      const response = await http.request(upload.uploadUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: upload.body,
      })
      if (response.status >= 500) failure = `the coordinator answered ${response.status}`
      else {
        answer = await readAnswer(response.clone())
        // Refused without a protocol answer (unknown device, too large): sending again won't help.
        if (!answer) refusal = `${response.status}: ${(await readError(response)).message}`
      }
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error)
    }
    if (refusal) {
      await finish(db, upload, options, now(), {
        outcome: 'failed',
        detail: `The coordinator refused the update (${refusal}).`,
      })
      report.answered += 1
      continue
    }
    if (!answer) {
      await release(db, upload, failure)
      report.waiting += 1
      continue
    }
    await finish(db, upload, options, now(), {
      outcome: answer.type,
      ...('message' in answer ? { detail: answer.message } : {}),
    })
    report.answered += 1
  }
  return report
}

/** The coordinator's answer to an upload, or null when the body is not one. */
async function readAnswer(response: Response): Promise<UploadAnswer | null> {
  try {
    const body = (await response.json()) as { type?: unknown }
    return typeof body.type === 'string' && Object.hasOwn(OUTCOMES, body.type)
      ? (body as UploadAnswer)
      : null
  } catch {
    return null
  }
}

async function deviceToken(db: PollenDatabase): Promise<string | undefined> {
  const setting = await db.get(STORES.settings, 'device')
  return setting?.key === 'device' ? setting.token : undefined
}

/** Takes the upload for this sender unless another holds it; counts the attempt. */
async function claim(db: PollenDatabase, key: string, at: number): Promise<PendingUpload | null> {
  const tx = db.transaction(STORES.uploads, 'readwrite')
  const upload = await tx.store.get(key)
  if (!upload || upload.claimedUntil > at) {
    await tx.done
    return null
  }
  const claimed = { ...upload, attempts: upload.attempts + 1, claimedUntil: at + CLAIM_MS }
  await Promise.all([tx.store.put(claimed), tx.done])
  return claimed
}

async function release(db: PollenDatabase, upload: PendingUpload, why: string): Promise<void> {
  await db.put(STORES.uploads, { ...upload, claimedUntil: 0, lastError: why })
}

/** Removes the upload and writes its round into the history (and the ledger), in one transaction. */
async function finish(
  db: PollenDatabase,
  upload: PendingUpload,
  options: DeliverOptions,
  at: number,
  result: Pick<HistoryRecord, 'outcome' | 'detail'>,
): Promise<void> {
  const record: HistoryRecord = {
    taskId: upload.taskId,
    taskName: upload.taskName,
    round: upload.round,
    examples: upload.examples,
    steps: upload.steps,
    bytesSent: result.outcome === 'expired' ? 0 : upload.body.byteLength,
    ...(upload.codec ? { codec: upload.codec } : {}),
    // Absent for an upload queued before downloads were counted: unknown, not none.
    ...(upload.bytesDown !== undefined ? roundDownload(upload) : {}),
    backend: upload.backend,
    startedAt: upload.startedAt,
    finishedAt: at,
    ...result,
  }
  record.id = await recordRound(db, record, { removeUpload: upload.key })
  options.onRecord?.(record)
}
