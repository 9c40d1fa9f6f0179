// One round on a device, for the simulator's runtime and the phone alike: an ordered list of
// stages over one typed state, stopping at the first that ends the round. What differs between
// them is injected: where models are kept, where checkpoints go, how the update is delivered
// (sent at once, or through the phone's outbox).
import type { Examples } from '../../shared/data/index.ts'
import type { Assignment, UpdateMetadata, UploadAnswer } from '../../shared/protocol/index.ts'
import {
  type Codec,
  encodeContainerWithResidual,
  type NamedTensor,
} from '../../shared/tensors/index.ts'
import { type CodecPick, roundCodec } from './codec.ts'
import type { ModelSource } from './models.ts'
import { keptResidual, type ResidualStore, usableResidual } from './residuals.ts'
import type { SecureOutcome, SecureSession } from './secure.ts'
import type { TrainCheckpoint, Trainer, TrainOutcome, TrainProgress } from './trainer.ts'
import { partialWorkStop, privatized, updateMetadata } from './update.ts'

/** A plain (not masked) update, ready to go: its wire body and what was trained. */
export interface PlainUpdate {
  assignment: Assignment
  body: Uint8Array
  codec: Codec
  trained: TrainOutcome
}

/** What became of a plain update: sent and answered, or queued to be sent later. */
export type Delivered =
  { type: 'sent'; answer: UploadAnswer; bytes: number } | { type: 'queued'; bytes: number }

/** How a plain update leaves the device: uploaded at once, or through the phone's outbox. */
export interface Delivery {
  deliver(update: PlainUpdate): Promise<Delivered>
}

/** Where a round's training checkpoints go (a phone: IndexedDB, to resume after a reload). */
export interface Checkpoints {
  /** A checkpoint of this same round to carry on from. */
  resumeFrom?: TrainCheckpoint
  /** Hand a checkpoint to `save` every this many steps. */
  every: number
  save(checkpoint: TrainCheckpoint): Promise<void>
}

/** What a round tells as it goes (the runtime's device events of one round). */
export type RoundEvent =
  | { type: 'assigned'; taskId: string; round: number }
  | {
      type: 'trained'
      taskId: string
      round: number
      examples: number
      steps: number
      loss: number
      ms: number
      /** Stopped before the plan's steps because the deadline was near. */
      partial: boolean
    }
  | {
      type: 'uploaded'
      taskId: string
      round: number
      answer: UploadAnswer
      bytes: number
      /** The plain update's codec (none for a secure round's masked one). */
      codec?: Codec
    }
  | { type: 'dropped'; taskId: string; round: number }
  /** How a secure round ended for this device (done: its sum was unmasked). */
  | {
      type: 'secure'
      taskId: string
      round: number
      outcome: 'done' | 'abandoned' | 'dropped'
      reason?: string
    }

/** The parts a round is made of; the caller picks them. */
export interface RoundParts {
  trainer: Trainer
  examples: Examples
  /** The assignment's model, by hash, checked. */
  model: ModelSource
  delivery: Delivery
  /**
   * The codec a plain round's update is uploaded in, held to what the assignment accepts
   * (`codec.ts`); default float32. A secure round's masked sum is the secure session's.
   */
  codec?: CodecPick
  /**
   * Top-k's error feedback: the residual each top-k upload keeps back, added to the task's next
   * update. Without it, top-k sends each round's largest entries and forgets the rest.
   */
  residuals?: ResidualStore
  /** Opens the SecAgg+ session of a round that asks for secure aggregation. */
  secure?: (assignment: Assignment) => SecureSession
  checkpoints?: Checkpoints
  /** Aborted when the work is no longer wanted (withdrawn, shutting down). */
  signal?: AbortSignal
  /** Called between training and delivery: a simulated slow or dropped device hooks in here. */
  beforeDeliver?: (assignment: Assignment, trainedMs: number) => Promise<'upload' | 'drop'>
  onEvent?: (event: RoundEvent) => void
  onProgress?: (progress: TrainProgress) => void
}

/** How a round ended on this device. */
export type RoundResult =
  | { type: 'delivered'; trained: TrainOutcome; delivered: Delivered }
  | { type: 'secure'; trained: TrainOutcome; ended: SecureOutcome }
  /** The secure round went on without this device before it had trained. */
  | { type: 'left-behind'; reason: string }
  /** `beforeDeliver` said not to deliver. */
  | { type: 'dropped'; trained: TrainOutcome }

/** The round's state, as the stages fill it in. */
export interface RoundState {
  assignment: Assignment
  /** The parts' signal, and the secure session's (a round that went on without this device). */
  signal?: AbortSignal
  secure?: SecureSession
  /** When training stops to deliver what it has (partial work). */
  stopAt?: number
  weights?: NamedTensor[]
  trained?: TrainOutcome
  trainedMs?: number
  update?: { tensors: NamedTensor[]; metadata: UpdateMetadata }
  /** Set by the stage that ends the round. */
  result?: RoundResult
}

export type RoundStage = (state: RoundState, parts: RoundParts) => Promise<RoundState>

/** Opens the secure session (keys and shares go while the device trains) and the stop time. */
export const planRound: RoundStage = (state, parts) => {
  const { assignment } = state
  const { taskId, round } = assignment
  parts.onEvent?.({ type: 'assigned', taskId, round })
  const secure = assignment.secureAggregation && parts.secure ? parts.secure(assignment) : undefined
  const signals = [parts.signal, secure?.signal].filter((s): s is AbortSignal => !!s)
  const stopAt = partialWorkStop(assignment)
  return Promise.resolve({
    ...state,
    ...(secure ? { secure } : {}),
    ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    ...(stopAt !== undefined ? { stopAt } : {}),
  })
}

/** The assignment's model, from wherever the device keeps it, else downloaded and checked. */
export const fetchModel: RoundStage = async (state, parts) => {
  const weights = await parts.model(state.assignment)
  state.signal?.throwIfAborted()
  return { ...state, weights }
}

export const trainRound: RoundStage = async (state, parts) => {
  const { assignment, weights, signal, stopAt } = state
  if (!weights) throw new Error('a round trains only once its model is in hand')
  const { checkpoints } = parts
  const started = Date.now()
  const trained = await parts.trainer.train({
    spec: assignment.model.spec,
    weights,
    plan: assignment.plan,
    examples: parts.examples,
    ...(signal ? { signal } : {}),
    ...(stopAt !== undefined ? { stopAt } : {}),
    ...(checkpoints?.resumeFrom ? { resumeFrom: checkpoints.resumeFrom } : {}),
    ...(checkpoints
      ? { checkpointEvery: checkpoints.every, onCheckpoint: (c) => checkpoints.save(c) }
      : {}),
    ...(parts.onProgress ? { onProgress: parts.onProgress } : {}),
  })
  // A trainer shared by many simulated devices says how long this job itself took.
  const trainedMs = trained.trainingMs ?? Date.now() - started
  const { taskId, round } = assignment
  parts.onEvent?.({
    type: 'trained',
    taskId,
    round,
    examples: trained.examples,
    steps: trained.steps,
    loss: trained.loss,
    ms: trainedMs,
    partial: trained.partial === true,
  })
  return { ...state, trained, trainedMs }
}

/** Clips and noises the delta as a private task asks, and says what it weighs. */
export const privatizeUpdate: RoundStage = (state) => {
  const { assignment, trained } = state
  if (!trained) throw new Error('a round privatizes only what it trained')
  return Promise.resolve({
    ...state,
    update: {
      tensors: privatized(assignment, trained.delta),
      metadata: updateMetadata(assignment, trained),
    },
  })
}

/** Masked through the secure session, or plain through the delivery; or dropped when told so. */
export const deliverUpdate: RoundStage = async (state, parts) => {
  const { assignment, trained, update, secure } = state
  if (!trained || !update) throw new Error('a round delivers only a privatized update')
  const { taskId, round } = assignment
  if ((await parts.beforeDeliver?.(assignment, state.trainedMs ?? 0)) === 'drop') {
    parts.onEvent?.({ type: 'dropped', taskId, round })
    return { ...state, result: { type: 'dropped', trained } }
  }
  if (secure) {
    const ended = await secure.submit(update.tensors, update.metadata)
    parts.onEvent?.({
      type: 'secure',
      taskId,
      round,
      outcome: ended.outcome,
      ...(ended.reason ? { reason: ended.reason } : {}),
    })
    if (ended.answer)
      parts.onEvent?.({ type: 'uploaded', taskId, round, answer: ended.answer, bytes: ended.bytes })
    return { ...state, result: { type: 'secure', trained, ended } }
  }
  const codec = roundCodec(assignment, parts.codec)
  const feedback = codec === 'topk' ? parts.residuals : undefined
  const residual = feedback
    ? usableResidual(await feedback.get(taskId), assignment, update.tensors)
    : null
  const encoded = encodeContainerWithResidual({ ...update, codec, residual })
  const body = encoded.bytes
  const delivered = await parts.delivery.deliver({ assignment, body, codec, trained })
  // Replaced once the update is out (queued or answered): what it carried is the coordinator's.
  if (feedback && encoded.residual)
    await feedback.put(taskId, keptResidual(assignment, update.tensors, encoded.residual))
  if (delivered.type === 'sent')
    parts.onEvent?.({
      type: 'uploaded',
      taskId,
      round,
      answer: delivered.answer,
      bytes: body.length,
      codec,
    })
  return { ...state, result: { type: 'delivered', trained, delivered } }
}

/** The stages of a round, in order, named once. */
export const ROUND_STAGES = [
  ['plan', planRound],
  ['model', fetchModel],
  ['train', trainRound],
  ['privatize', privatizeUpdate],
  ['deliver', deliverUpdate],
] as const satisfies readonly (readonly [string, RoundStage])[]

export type RoundStageName = (typeof ROUND_STAGES)[number][0]

/**
 * Runs one assignment through the stages. A secure round that goes on without this device
 * ends it `left-behind` (no need to finish its work); whatever happens, the secure session is
 * left when the round ends.
 */
export async function runRound(assignment: Assignment, parts: RoundParts): Promise<RoundResult> {
  let state: RoundState = { assignment }
  try {
    for (const [, stage] of ROUND_STAGES) {
      state = await stage(state, parts)
      if (state.result) return state.result
    }
    throw new Error('the round ended without a result')
  } catch (error) {
    const secure = state.secure?.signal
    if (!secure?.aborted || parts.signal?.aborted) throw error
    const reason = (secure.reason as Error | undefined)?.message ?? 'left behind'
    const { taskId, round } = assignment
    parts.onEvent?.({ type: 'secure', taskId, round, outcome: 'dropped', reason })
    return { type: 'left-behind', reason }
  } finally {
    state.secure?.stop()
  }
}
