import {
  plannedSteps,
  type TrainPlanWire,
  type UpdateMetadata,
} from '../../shared/protocol/index.ts'

/**
 * What an assignment lets its update claim: no more examples than the device declared for the
 * task's dataset at the check-in that assigned it, and no more steps than its plan takes on
 * them. Kept with the live assignment, since a later check-in may declare something else.
 */
export interface ClaimBound {
  /** Examples declared for the task's dataset at assignment. */
  declared: number
  /** Steps the plan allows on those examples (the largest plan the device was given). */
  steps: number
  batchSize: number
}

export function claimBound(plan: TrainPlanWire, declared: number): ClaimBound {
  return { declared, steps: plannedSteps(plan, declared), batchSize: plan.batchSize }
}

/**
 * A device told its assignment again (a reload) may get a plan sized anew: its update may take
 * the larger of the two. The declared examples stay those of the assigning check-in.
 */
export function widenedBound(bound: ClaimBound, plan: TrainPlanWire): ClaimBound {
  return { ...bound, steps: Math.max(bound.steps, plannedSteps(plan, bound.declared)) }
}

/**
 * Why `metadata` claims more than its assignment allows, naming the field; null when it does
 * not. Honest training (shared/training/train.ts) counts the distinct examples of its first epoch,
 * so examples ≤ min(declared, steps × batchSize), and stops at the plan's steps or before
 * (partial work), so steps ≤ the plan's.
 */
export function claimRefusal(
  bound: ClaimBound,
  { examples, steps }: Pick<UpdateMetadata, 'examples' | 'steps'>,
): { field: string; message: string } | null {
  if (steps < 1)
    return { field: 'metadata.steps', message: 'an update of any examples takes at least one step' }
  if (steps > bound.steps)
    return {
      field: 'metadata.steps',
      message: `${steps} steps is more than this assignment's plan allows (${bound.steps} on the ${bound.declared} examples declared at check-in)`,
    }
  if (examples > bound.declared)
    return {
      field: 'metadata.examples',
      message: `${examples} examples is more than the ${bound.declared} this device declared for the task's dataset at the check-in that assigned it`,
    }
  if (examples > steps * bound.batchSize)
    return {
      field: 'metadata.examples',
      message: `${examples} examples cannot be seen in ${steps} steps of batch ${bound.batchSize} (at most ${steps * bound.batchSize})`,
    }
  return null
}
