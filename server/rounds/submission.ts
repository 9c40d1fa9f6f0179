import { speedTier, type UpdateMetadata } from '../../shared/protocol/index.ts'
import type { UpdateTensors } from '../../shared/tensors/index.ts'
import type { AssignmentState, DeviceRecord, RoundRecord } from '../store/index.ts'
import { addBytes, uploadCodec } from './admission.ts'
import type { Core, LiveRound, LiveTask } from './live.ts'
import type { CloseReason } from './transitions.ts'
import type { UploadProblem, UploadResult } from './types.ts'

/** A device's assignment: the task, the round it was assigned in, the device. */
export interface AssignmentKey {
  taskId: string
  round: number
  deviceId: string
}

/** An upload to a round the device was never assigned in. */
export const unknown = (message: string): UploadResult => ({
  answer: { type: 'unknown-round', message },
})

/** An upload from a device that answered its round already. */
export function duplicate(n: number, state: AssignmentState): UploadResult {
  const message = `this device already answered round ${n} (its update was ${state})`
  return { answer: { type: 'duplicate', round: n, message } }
}

/** The task and round of an assignment key, as device.state events carry them. */
export const withRound = (key: { taskId: string; round: number }) => ({
  taskId: key.taskId,
  round: key.round,
})

/** What an upload did to its round: accepted, rejected, late, duplicate; the counts and events. */
export function createSubmission(
  core: Core,
  close: (live: LiveTask, round: LiveRound, why: CloseReason) => void,
) {
  const { store, clock, events, metrics } = core

  /** Stores that a device's assignment ended late (at `at`), in the task's write order. */
  function storeLate(live: LiveTask, key: AssignmentKey, at = clock.now()): void {
    void core.enqueue(live, () => store.updateAssignment(key, { state: 'late', answeredAt: at }))
  }

  function late(device: DeviceRecord, key: { taskId: string; round: number }): UploadResult {
    events.publish({ type: 'device.state', deviceId: device.id, state: 'late', ...withRound(key) })
    const message = `round ${key.round} closed before this update arrived; it was not aggregated`
    return { answer: { type: 'late', round: key.round, message } }
  }

  /** A device of the open round that answered after it began to close. */
  function lateInRound(live: LiveTask, round: LiveRound, device: DeviceRecord, key: AssignmentKey) {
    round.devices.set(device.id, 'late')
    round.record.late += 1
    storeLate(live, key)
    void core.persistRound(live, round)
    return late(device, key)
  }

  function reject(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    refusal: { problem: UploadProblem; field: string; message: string },
    bytesUp = 0,
    /** The round the device was assigned in: an async task's may be an earlier one. */
    assignedIn = round.record.round,
  ): UploadResult {
    const key = { taskId: live.record.id, round: assignedIn, deviceId: device.id }
    round.devices.set(device.id, 'rejected')
    round.record.rejected += 1
    core.assignmentMoved(live, round, key, 'rejected', {
      state: 'rejected',
      answeredAt: clock.now(),
      bytesUp,
    })
    const { problem, field, message } = refusal
    return { answer: { type: 'rejected', round: key.round, message, field }, problem }
  }

  /** Rejects an update whose bytes were read: they count in the round's traffic, by codec. */
  function rejectRead(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    refusal: { problem: UploadProblem; field: string; message: string },
    body: Uint8Array,
    assignedIn = round.record.round,
  ) {
    round.record.bytesUp += body.length
    addBytes(round.record.bytesUpByCodec, uploadCodec(body), body.length)
    return reject(live, round, device, refusal, body.length, assignedIn)
  }

  /**
   * Adds a checked update (`delta`; null for a masked vector, already in the secure round's sum)
   * to the open round's aggregation, counts it, and closes the round once `closeAt` reports are
   * in. The aggregation may refuse what it cannot weigh (no steps under normalized weighting),
   * leaving its sums as they were: the update is rejected.
   */
  function accept(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    key: AssignmentKey,
    /**
     * `norm`: the delta's L2 norm where the admission computed it; `recycle`: where `bytes` go
     * once the aggregation took what it needs from the delta, views of them (TrainReport.release).
     */
    update: {
      bytes: Uint8Array
      metadata: UpdateMetadata
      delta: UpdateTensors | null
      norm?: number
      recycle?: ((bytes: Uint8Array) => void) | undefined
    },
    /** `staleness`: an async update's rounds behind, weighed and counted in the round. */
    { closeAt, staleness }: { closeAt: number; staleness?: number },
  ): UploadResult {
    const { bytes, metadata, delta, norm, recycle } = update
    try {
      if (delta !== null)
        round.aggregation.accept({
          deviceId: device.id,
          delta,
          // checkUpdate's tensors: views of (or copies from) this upload's own body.
          owned: true,
          ...(norm !== undefined ? { norm } : {}),
          ...(recycle ? { release: () => recycle(bytes) } : {}),
          examples: metadata.examples,
          steps: metadata.steps,
          ...(metadata.loss !== undefined ? { loss: metadata.loss } : {}),
          ...(staleness !== undefined ? { staleness } : {}),
        })
    } catch (error) {
      if (!(error instanceof RangeError)) throw error
      const field = metadata.steps === 0 ? 'metadata.steps' : 'tensors'
      const refusal = { problem: 'invalid' as const, field, message: error.message }
      return rejectRead(live, round, device, refusal, bytes, key.round)
    }
    const bounds = round.aggregation.bounds?.()
    if (bounds) round.record.updateBounds = bounds
    count(round, device, metadata, bytes, staleness)
    metrics.inc('pollen_upload_bytes_total', {}, bytes.length)
    core.assignmentMoved(live, round, key, 'reported', {
      state: 'reported',
      examples: metadata.examples,
      answeredAt: clock.now(),
      bytesUp: bytes.length,
    })
    const reported = round.record.reported
    if (reported >= closeAt) close(live, round, 'target')
    return { answer: { type: 'accepted', round: key.round, reported } }
  }

  return {
    unknown,
    duplicate,
    late,
    storeLate,
    lateInRound,
    reject,
    rejectRead,
    accept,
  }
}

export type Submission = ReturnType<typeof createSubmission>

/** An accepted update's counts: reports, examples, bytes, loss, staleness, participation. */
function count(
  round: LiveRound,
  device: DeviceRecord,
  metadata: UpdateMetadata,
  body: Uint8Array,
  staleness: number | undefined,
) {
  round.devices.set(device.id, 'reported')
  round.record.reported += 1
  round.record.examples += metadata.examples
  round.record.bytesUp += body.length
  addBytes(round.record.bytesUpByCodec, uploadCodec(body), body.length)
  if (metadata.loss !== undefined) {
    round.trainingLoss.sum += metadata.loss * metadata.examples
    round.trainingLoss.examples += metadata.examples
  }
  if (staleness !== undefined) {
    const counts = (round.record.staleness ??= [])
    while (counts.length <= staleness) counts.push(0)
    counts[staleness]! += 1
  }
  countParticipation(round.record, device, metadata.examples, metadata.partial)
}

/** A device that reported: its backend's and its speed tier's shares grow, and partial work's. */
export function countParticipation(
  record: RoundRecord,
  device: DeviceRecord,
  examples: number,
  partial = false,
) {
  const { participation } = record
  const backend = participation.byBackend[device.capabilities?.backend ?? 'cpu']
  const tier = participation.byTier[speedTier(device.capabilities?.examplesPerSecond)]
  for (const share of [backend, tier, ...(partial ? [participation.partial] : [])]) {
    share.devices += 1
    share.examples += examples
  }
}
