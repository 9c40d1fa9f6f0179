// Clone: a task's spec back into the "New task" form, to edit and create. The form shows only
// some settings; the rest (mode, FedBuff's, aggregation, work sizing, eligibility) are carried
// over as they were, under what the form sends.
import type { TaskSpecInput, TaskView } from '../../shared/protocol/index.ts'

export interface CloneDraft {
  /** The form's text inputs and selects, by name. */
  values: Record<string, string>
  /** Its checkboxes, by name. */
  checks: Record<string, boolean>
  /** The settings the form has no field for, sent as they were. */
  carried: Partial<TaskSpecInput>
  /** The source task's name, to say what was cloned. */
  from: string
}

export function cloneDraft(task: TaskView): CloneDraft {
  const values: Record<string, string> = {
    name: `${task.name} (copy)`,
    purpose: task.purpose,
    dataset: task.dataset,
    'model.preset': task.model.preset,
    'train.optimizer': task.train.optimizer,
    'train.learningRate': String(task.train.learningRate),
    'train.batchSize': String(task.train.batchSize),
    'train.localEpochs': String(task.train.localEpochs),
    'rounds.total': String(task.rounds.total),
    'rounds.clientsPerRound': String(task.rounds.clientsPerRound),
    'rounds.minReports': String(task.rounds.minReports),
    'rounds.deadlineSeconds': String(task.rounds.deadlineSeconds),
    'rounds.overSelect': String(task.rounds.overSelect),
  }
  const dp = task.privacy
  if (dp) {
    values['privacy.clipNorm'] = String(dp.clipNorm)
    values['privacy.noiseMultiplier'] = String(dp.noiseMultiplier)
    values['privacy.delta'] = String(dp.delta)
    values['privacy.epsilonBudget'] = String(dp.epsilonBudget)
    values['privacy.mode'] = dp.mode
    if (dp.population !== undefined) values['privacy.population'] = String(dp.population)
  }
  if (task.secureAggregation)
    values['secureAggregation.threshold'] = String(task.secureAggregation.threshold)
  return {
    values,
    checks: { privacy: dp !== null, secureAggregation: task.secureAggregation !== null },
    carried: {
      mode: task.mode,
      async: { ...task.async },
      aggregation: { ...task.aggregation },
      work: structuredClone(task.work),
      eligibility: structuredClone(task.eligibility),
    },
    from: task.name,
  }
}

/** The form's spec over the carried settings: what the form says wins. */
export function withCarried(spec: TaskSpecInput, carried: Partial<TaskSpecInput>): TaskSpecInput {
  return { ...carried, ...spec }
}
