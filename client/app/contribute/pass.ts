// One pass of the contribute loop that has work: resume the saved round or check in for one,
// run it through the device pipeline with the phone's parts, and write the history of a round
// that ends here. The loop around it keeps consent, conditions and backoff.
import type { Backend } from '../../../shared/protocol/index.ts'
import { networkCodec } from '../../device/codec-choice.ts'
import { networkDownload } from '../../device/download-choice.ts'
import { ProtocolError } from '../../device/http.ts'
import { runRound } from '../../device/pipeline.ts'
import { recordRound } from '../history/store.ts'
import { outboxDelivery } from '../outbox/queue.ts'
import type { HistoryRecord, PollenDatabase } from '../storage/index.ts'
import { indexedDbModels } from '../storage/models.ts'
import { idbResiduals } from '../storage/residuals.ts'
import { type ConditionSource, deviceState } from '../tasks/conditions.ts'
import { deleteCheckpoint } from './checkpoints.ts'
import { readNetwork } from './network.ts'
import { clearEnrolment } from './enrolment.ts'
import type { Link } from './link.ts'
import {
  type PhoneRound,
  phoneCheckpoints,
  resumedRound,
  secureRecord,
  unfinishedRecord,
  type WorkDone,
} from './round.ts'
import { type AppTrainer, type ContributionState, OFFLINE_RETRY_MS } from './state.ts'
import type { Work } from './work.ts'

export interface PassContext {
  db: PollenDatabase
  link: Link
  trainer: AppTrainer
  /** The backend the trainer runs on (a resumed round keeps the one it started on). */
  backend: Backend
  /** Examples per second on that backend, for the check-in (undefined: not known). */
  speed: number | undefined
  conditions: ConditionSource
  /** The tasks that may train now, read at the check-in itself. */
  readyTaskIds: () => Promise<string[]>
  /** Aborted when the owner withdraws or pauses, a condition stops holding, or the loop stops. */
  signal: AbortSignal
  /** Aborted when the loop stops (the page closes): the round is not over, its checkpoint resumes it. */
  stopping: AbortSignal
  /** Told which task the pass works for, once it knows (a withdrawal of it aborts the work). */
  working: (taskId: string) => void
  /** Says what the contribution does now, and reads what it said last. */
  show: (state: ContributionState) => void
  shown: () => ContributionState
  /** The idle state, saying why in plain words (`fallback` when nothing else explains it). */
  idle: (fallback: string) => Promise<ContributionState>
  /** Sends what waits in the outbox; how many still wait. */
  flush: () => Promise<number>
  onRound?: ((record: HistoryRecord) => void) | undefined
  idleSeconds: number
  now: () => number
}

/** Does the work; answers how long to wait before the next pass. */
export async function contribute(work: Work, ctx: PassContext): Promise<number> {
  const { db, now, show } = ctx
  const backend = work.saved?.backend ?? ctx.backend
  /** The round under way, until its history is written (or is the outbox's to write). */
  let round: PhoneRound | null = work.saved ? resumedRound(work.saved) : null
  const device = await ctx.link.device({
    trainer: ctx.trainer,
    examples: work.examples,
    dataset: work.dataset,
    backend,
    signal: ctx.signal,
    models: indexedDbModels(db, now),
    // The model's encoding by the network as it is when the model is asked for, as for uploads.
    modelEncoding: networkDownload(() => readNetwork()),
    // The round's model, as it came, for its History.
    onDownload: ({ hash, bytes, encoding }) => {
      if (round?.assignment.model.hash !== hash) return
      round.bytesDown = (round.bytesDown ?? 0) + bytes
      round.downloadEncoding = encoding
    },
    ...(ctx.speed !== undefined ? { examplesPerSecond: ctx.speed } : {}),
    state: () => deviceState(ctx.conditions.read()),
    // Read at the check-in itself: a withdrawal a moment before is already honoured.
    consents: ctx.readyTaskIds,
  })
  let done: WorkDone = { examples: 0, steps: 0 }
  /** Why a secure round went on without this phone, if it did. */
  let leftBehind: string | undefined
  try {
    if (!round) {
      show({ type: 'checking-in', backend })
      const answer = await device.checkin()
      if (answer.type === 'none') {
        show(await ctx.idle(`Nothing to train now: the coordinator says ${answer.reason}.`))
        return ctx.idleSeconds * 1000
      }
      if (answer.type === 'retry') {
        const { retryAfterSeconds: seconds, reason } = answer
        show({ type: 'waiting', backend, seconds, reason })
        return seconds * 1000
      }
      const taskName = work.ready.find((c) => c.taskId === answer.taskId)?.taskName
      round = {
        assignment: answer,
        taskName: taskName ?? answer.taskId,
        backend,
        startedAt: now(),
        exampleCount: work.examples.count,
      }
    }
    const thisRound = round
    const { assignment, taskName } = thisRound
    ctx.working(assignment.taskId)
    const shown = { backend, taskId: assignment.taskId, taskName, round: assignment.round }
    const result = await runRound(assignment, {
      trainer: ctx.trainer,
      examples: work.examples,
      model: device.model,
      // Only the masked update leaves the phone in a secure round; it cannot wait in the
      // outbox, because the round unmasks the sum with this phone's help, online.
      secure: device.secureSession,
      delivery: outboxDelivery(db, thisRound, now),
      // The codec by the network as it is when the update is encoded, within the task's list.
      codec: networkCodec(() => readNetwork()),
      residuals: idbResiduals(db, now),
      checkpoints: phoneCheckpoints(db, thisRound, now),
      signal: ctx.signal,
      onEvent: (event) => {
        if (event.type === 'assigned') {
          const resumedFrom = thisRound.saved?.checkpoint.step ?? null
          show({ type: 'training', ...shown, progress: null, resumedFrom, firstStep: null })
        }
        if (event.type === 'trained') {
          done = { examples: event.examples, steps: event.steps }
          show({ type: 'uploading', ...shown })
        }
      },
      onProgress: (progress) => {
        const state = ctx.shown()
        if (state.type === 'training')
          show({ ...state, progress, firstStep: state.firstStep ?? progress.step })
      },
    })
    if (result.type === 'left-behind') {
      leftBehind = result.reason
      return 0
    }
    if (result.type === 'secure') {
      await deleteCheckpoint(db, assignment.taskId)
      const record = secureRecord(thisRound, done, result.ended, now())
      round = null
      record.id = await recordRound(db, record)
      ctx.onRound?.(record)
      return 0
    }
    round = null // queued: its history is the outbox's to write now
    return (await ctx.flush()) > 0 ? OFFLINE_RETRY_MS : 0
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 401) {
      // The coordinator no longer knows this install (a new data dir): enrol again.
      await clearEnrolment(db)
      return 0
    }
    // Stopped by the owner or a condition: the history says so; look again at once.
    if (ctx.stopping.aborted || ctx.signal.aborted) return 0
    // A checkpoint that cannot be resumed (damaged, or from another plan) would fail the same
    // way every pass: drop it, and the next pass trains the round from its start.
    if (work.saved) await deleteCheckpoint(db, work.saved.taskId)
    show({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    throw error
  } finally {
    // The contributor stopping (the page closing) does not end the round: its checkpoint
    // resumes it. A withdrawal already deleted the checkpoint; a pause keeps it.
    if (round && !ctx.stopping.aborted) {
      const stopped = ctx.signal.aborted || leftBehind !== undefined
      const record = unfinishedRecord(round, done, { stopped, leftBehind }, now())
      record.id = await recordRound(db, record)
      ctx.onRound?.(record)
    }
  }
}
