import {
  BACKEND_ORDER,
  type Capabilities,
  type Eligibility,
  type TrainPlanWire,
  type WorkSettings,
} from '../../shared/protocol/index.ts'

/** What sizing a device's work needs to know about the round and the device. */
export interface WorkInput {
  plan: TrainPlanWire
  work: WorkSettings
  /** The round's whole deadline, and the part of it still ahead when the device checks in. */
  deadlineSeconds: number
  secondsLeft: number
  /** The device's measured speed; undefined when it has not reported one. */
  examplesPerSecond: number | undefined
}

/**
 * The plan a device gets when the task sizes work to the deadline: at most the steps it can run,
 * at its measured speed, in the time left less the margin (at least one step: a device that
 * cannot do one in time still does one, and partial work or the deadline decides). A device that
 * reported no speed gets the plan unsized. With partial uploads on, it is also told to stop and
 * upload when half the margin of the deadline is left (1 s to 60 s), so that a device slower
 * than it measured still reports.
 */
export function sizeWork({
  plan,
  work,
  deadlineSeconds,
  secondsLeft,
  examplesPerSecond,
}: WorkInput): TrainPlanWire {
  if (!work.deadlineAware) return plan
  const sized: TrainPlanWire = { ...plan }
  if (examplesPerSecond !== undefined && examplesPerSecond > 0) {
    const seconds = Math.max(0, secondsLeft) * (1 - work.margin)
    const budget = Math.max(1, Math.floor((examplesPerSecond * seconds) / plan.batchSize))
    sized.maxSteps = Math.min(plan.maxSteps ?? budget, budget)
  }
  if (work.partialUploads) {
    const reserve = (deadlineSeconds * work.margin) / 2
    sized.partialAtSecondsLeft = Math.round(Math.min(60, Math.max(1, reserve)) * 100) / 100
  }
  return sized
}

/** Why a device may not take part in a task, or null when it may. */
export interface Ineligible {
  /** `permanent`: what the device is (backend, memory); `transient`: what it is doing now. */
  kind: 'permanent' | 'transient'
  reason: string
}

/** The first rule of `rules` that `capabilities` breaks. Unreported facts break the rule. */
export function ineligibility(
  capabilities: Capabilities | null,
  rules: Eligibility,
): Ineligible | null {
  if (rules.minBackend !== undefined) {
    const rank = capabilities ? BACKEND_ORDER.indexOf(capabilities.backend) : -1
    if (rank < BACKEND_ORDER.indexOf(rules.minBackend))
      return {
        kind: 'permanent',
        reason: `needs the ${rules.minBackend} backend or better (${BACKEND_ORDER.join(' < ')})`,
      }
  }
  if (rules.minMemoryMB !== undefined && !((capabilities?.memoryMB ?? -1) >= rules.minMemoryMB))
    return { kind: 'permanent', reason: `needs at least ${rules.minMemoryMB} MB of memory` }
  if (rules.requireCharging && capabilities?.charging !== true)
    return { kind: 'transient', reason: 'takes devices only while they charge' }
  if (rules.requireUnmetered && capabilities?.network !== 'unmetered')
    return { kind: 'transient', reason: 'takes devices only on an unmetered network' }
  return null
}

/** Whether a device holds examples of `dataset` (what it declared at its last check-in). */
export const holds = (
  device: { datasets: readonly { name: string; examples: number }[] },
  dataset: string,
) => device.datasets.some((d) => d.name === dataset && d.examples > 0)
