// What a trained round sends: the delta as the task's privacy asks for it, and what the
// coordinator weighs it by.
import { addGaussianNoise, clipToNorm } from '../../shared/privacy/index.ts'
import type { Assignment, UpdateMetadata } from '../../shared/protocol/index.ts'
import { encodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import type { TrainOutcome } from './trainer.ts'

/**
 * When training for `assignment` stops to upload what it has (ms since the epoch): its deadline
 * less the plan's `partialAtSecondsLeft`. Undefined when the plan asks for no partial work.
 */
export function partialWorkStop(assignment: Assignment): number | undefined {
  const secondsLeft = assignment.plan.partialAtSecondsLeft
  if (secondsLeft === undefined) return undefined
  return Date.parse(assignment.deadline) - secondsLeft * 1000
}

/**
 * The delta as a private task asks for it: clipped to its L2 norm bound, then noised with this
 * device's share of the noise (distributed mode). Unchanged for a task without privacy.
 */
export function privatized(assignment: Assignment, delta: NamedTensor[]): NamedTensor[] {
  const { privacy } = assignment
  if (!privacy) return delta
  const { tensors } = clipToNorm(delta, privacy.clipNorm)
  return privacy.noiseStd > 0 ? addGaussianNoise(tensors, privacy.noiseStd) : tensors
}

/** What the coordinator weighs an update by, as its header carries it. */
export function updateMetadata(assignment: Assignment, result: TrainOutcome): UpdateMetadata {
  return {
    examples: result.examples,
    steps: result.steps,
    baseModel: assignment.model.hash,
    ...(Number.isFinite(result.loss) ? { loss: result.loss } : {}),
    ...(result.partial ? { partial: true } : {}),
  }
}

/** The upload body for a trained assignment: the delta, with what the coordinator weighs it by. */
export function encodeUpdate(assignment: Assignment, result: TrainOutcome): Uint8Array {
  return encodeContainer({
    tensors: privatized(assignment, result.delta),
    metadata: updateMetadata(assignment, result),
  })
}
