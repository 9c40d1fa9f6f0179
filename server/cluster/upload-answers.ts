import type { UpdateMetadata } from '../../shared/protocol/index.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import type { AssignmentKey } from '../rounds/submission.ts'
import { duplicate, unknown, withRound } from '../rounds/submission.ts'
import { uploadCodec } from '../rounds/admission.ts'
import type { UploadProblem, UploadResult } from '../rounds/types.ts'
import type { DeviceRecord } from '../store/index.ts'
import type { AcceptInput, AcceptOutcome, Ledger } from './ledger.ts'

/** What ledger.accept takes for an update checked on this replica (sync rounds: no staleness). */
export const acceptInput = (
  key: AssignmentKey,
  replicaId: string,
  now: number,
  metadata: UpdateMetadata,
  bytes: Uint8Array,
): AcceptInput => ({
  key,
  replicaId,
  now,
  examples: metadata.examples,
  steps: metadata.steps,
  loss: metadata.loss ?? null,
  staleness: null,
  partial: metadata.partial ?? false,
  bytes,
})

/**
 * How a replica answers an upload, plain or masked: late, rejected (moved in the ledger), or
 * accepted (counted, announced, and the owner told when the round has its target).
 */
export function createUploadAnswers(
  core: Core,
  { ledger, reached }: { ledger: Ledger; reached: (live: LiveTask) => void },
) {
  const { clock, events, metrics } = core

  const late = (device: DeviceRecord, key: { taskId: string; round: number }): UploadResult => {
    events.publish({ type: 'device.state', deviceId: device.id, state: 'late', ...withRound(key) })
    const message = `round ${key.round} closed before this update arrived; it was not aggregated`
    return { answer: { type: 'late', round: key.round, message } }
  }

  async function rejected(
    key: { taskId: string; round: number; deviceId: string },
    refusal: { problem: UploadProblem; field: string; message: string },
    /** The body read (its bytes count, under its codec), or nothing read. */
    body: Uint8Array | null,
  ): Promise<UploadResult> {
    const bytesUp = body?.length ?? 0
    const codec = body ? uploadCodec(body) : 'unreadable'
    const moved = await ledger.reject({ key, now: clock.now(), bytesUp, codec })
    if (!moved) return duplicate(key.round, 'rejected')
    events.publish({
      type: 'device.state',
      deviceId: key.deviceId,
      state: 'rejected',
      ...withRound(key),
    })
    const { problem, field, message } = refusal
    return { answer: { type: 'rejected', round: key.round, message, field }, problem }
  }

  /** The answer to an update the round now counts, and what others hear of it. */
  function accepted(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    key: AssignmentKey,
    outcome: { reported: number; examples: number },
    bytes: number,
  ): UploadResult {
    metrics.inc('pollen_upload_bytes_total', {}, bytes)
    Object.assign(round.record, { reported: outcome.reported, examples: outcome.examples })
    events.publish({
      type: 'device.state',
      deviceId: device.id,
      state: 'reported',
      ...withRound(key),
    })
    core.publishRound(live, round)
    if (outcome.reported >= round.settings.clientsPerRound) reached(live)
    return { answer: { type: 'accepted', round: key.round, reported: outcome.reported } }
  }

  /** The answer to an outcome other than `accepted`. */
  function refused(
    outcome: Exclude<AcceptOutcome, { type: 'accepted' }>,
    device: DeviceRecord,
    key: AssignmentKey,
  ): UploadResult {
    if (outcome.type === 'duplicate') return duplicate(key.round, outcome.state)
    if (outcome.type === 'late') return late(device, key)
    return unknown(
      `device ${device.id} has no assignment in round ${key.round} of task ${key.taskId}`,
    )
  }

  return { late, rejected, accepted, refused }
}

export type UploadAnswers = ReturnType<typeof createUploadAnswers>
