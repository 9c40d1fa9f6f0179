// The phone's way to deliver a round's update: into the outbox first, so that neither a lost
// network nor a closed page loses the round's work; `deliverPending` sends it. Not imported by
// the service worker (it brings the device pipeline's types only, but keeps index.ts lean).
import type { Delivery } from '../../device/pipeline.ts'
import type { Backend } from '../../../shared/protocol/index.ts'
import {
  type PendingUpload,
  type PollenDatabase,
  roundDownload,
  type RoundDownload,
  STORES,
} from '../storage/index.ts'
import { uploadKey } from './index.ts'

/** Puts a trained update in the outbox and drops the round's checkpoint, in one transaction. */
export async function queueUpload(db: PollenDatabase, upload: PendingUpload): Promise<void> {
  const tx = db.transaction([STORES.uploads, STORES.checkpoints], 'readwrite')
  await Promise.all([
    tx.objectStore(STORES.uploads).put(upload),
    tx.objectStore(STORES.checkpoints).delete(upload.taskId),
    tx.done,
  ])
}

export interface OutboxRound extends RoundDownload {
  taskName: string
  backend: Backend
  startedAt: number
}

/** Delivers through the outbox: the update is queued, and its answer comes when it is sent. */
export function outboxDelivery(
  db: PollenDatabase,
  round: OutboxRound,
  now: () => number = Date.now,
): Delivery {
  return {
    async deliver({ assignment, body, codec, trained }) {
      await queueUpload(db, {
        key: uploadKey(assignment.taskId, assignment.round),
        taskId: assignment.taskId,
        taskName: round.taskName,
        round: assignment.round,
        uploadUrl: assignment.uploadUrl,
        deadlineAt: Date.parse(assignment.deadline),
        body: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
        codec,
        examples: trained.examples,
        steps: trained.steps,
        backend: round.backend,
        startedAt: round.startedAt,
        ...roundDownload(round),
        queuedAt: now(),
        attempts: 0,
        claimedUntil: 0,
      })
      return { type: 'queued', bytes: body.length }
    },
  }
}
