import { describe, expect, it } from 'vitest'
import { TaskSpecSchema, type TaskSpecInput, type TaskView } from '../../shared/protocol/index.ts'
import { cloneDraft, withCarried } from './clone.ts'
import { readTaskForm } from './task-form.ts'

/** A task as the coordinator shows it, from the spec it was created with. */
function taskOf(input: TaskSpecInput): TaskView {
  const spec = TaskSpecSchema.parse(input)
  return {
    ...spec,
    id: 't1',
    status: 'running',
    model: {
      preset: spec.model.preset,
      hash: 'a'.repeat(64),
      parameters: 199_210,
      trainableParameters: 199_210,
      updateBytes: 796_840,
    },
    epsilonSpent: spec.privacy ? 0 : null,
    samplingPopulation: null,
    classes: [],
    heldOut: null,
    seed: 1234,
    round: 3,
    committedRounds: 2,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  }
}

/** The form after the draft was put into it, read back as the board reads it. */
function submit(draft: ReturnType<typeof cloneDraft>) {
  const read = readTaskForm(
    (name) =>
      name in draft.checks ? (draft.checks[name] ? 'on' : null) : (draft.values[name] ?? null),
    null,
  )
  if (!read.ok) throw new Error(JSON.stringify(read.issues))
  return TaskSpecSchema.parse(withCarried(read.value, draft.carried))
}

describe('clone', () => {
  it('gives back the same spec, but for the name, through the form', () => {
    const source: TaskSpecInput = {
      name: 'digits',
      purpose: 'learn digits from drawings',
      dataset: 'mnist',
      model: { preset: 'mnist-cnn' },
      train: { optimizer: 'adam', learningRate: 0.002, batchSize: 16, localEpochs: 2 },
      rounds: { total: 7, clientsPerRound: 4, minReports: 3, deadlineSeconds: 45, overSelect: 1.5 },
      aggregation: { optimizer: 'fedadam', serverLearningRate: 0.05 },
      privacy: {
        clipNorm: 1.5,
        noiseMultiplier: 1.1,
        delta: 1e-6,
        epsilonBudget: 8,
        mode: 'distributed',
        population: 40,
      },
      secureAggregation: { threshold: 0.7 },
    }
    const draft = cloneDraft(taskOf(source))
    expect(draft.values.name).toBe('digits (copy)')
    expect(draft.checks).toEqual({ privacy: true, secureAggregation: true })
    // The same spec but for the name; and no seed: a clone is a new run, from its own start.
    expect(submit(draft)).toEqual({
      ...TaskSpecSchema.parse(source),
      name: 'digits (copy)',
    })
    expect(submit(draft).seed).toBeUndefined()
  })

  it('leaves privacy and secure aggregation off where the task had neither; keeps its mode', () => {
    const source: TaskSpecInput = {
      name: 'plain',
      purpose: 'p',
      model: { preset: 'mnist-2nn' },
      mode: 'async',
      async: { bufferSize: 3, maxStaleness: 2, stalenessExponent: 1, concurrency: 6 },
      work: { deadlineAware: true, margin: 0.4 },
    }
    const draft = cloneDraft(taskOf(source))
    expect(draft.checks).toEqual({ privacy: false, secureAggregation: false })
    expect(submit(draft)).toEqual({ ...TaskSpecSchema.parse(source), name: 'plain (copy)' })
  })
})
