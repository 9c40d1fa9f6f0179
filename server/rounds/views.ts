import type { RoundView, TaskView } from '../../shared/protocol/index.ts'
import type { ModelInfo } from '../models/index.ts'
import type { HeldOutRecord, RoundRecord, TaskRecord } from '../store/index.ts'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/**
 * `population`: the devices a private task's sampling rate counts (see `samplingPopulation`);
 * `dataset`: its dataset's class names and held-out set, as declared now.
 */
export function taskView(
  task: TaskRecord,
  info: Pick<ModelInfo, 'parameters' | 'trainableParameters' | 'payloadBytes'>,
  population: number,
  dataset: { classes: readonly string[]; heldOut: HeldOutRecord | null } = {
    classes: [],
    heldOut: null,
  },
): TaskView {
  const { spec } = task
  return {
    id: task.id,
    name: spec.name,
    purpose: spec.purpose,
    status: task.status,
    model: {
      preset: spec.model.preset,
      hash: task.modelHash,
      parameters: info.parameters,
      trainableParameters: info.trainableParameters,
      updateBytes: info.payloadBytes,
    },
    seed: spec.seed ?? null,
    dataset: spec.dataset,
    classes: [...dataset.classes],
    heldOut: dataset.heldOut && {
      examples: dataset.heldOut.examples,
      uploadedAt: new Date(dataset.heldOut.uploadedAt).toISOString(),
    },
    train: spec.train,
    rounds: spec.rounds,
    aggregation: spec.aggregation,
    work: spec.work,
    eligibility: spec.eligibility,
    mode: spec.mode,
    async: spec.async,
    privacy: spec.privacy,
    secureAggregation: spec.secureAggregation,
    compression: spec.compression,
    epsilonSpent: task.privacySpent?.epsilon ?? (spec.privacy ? 0 : null),
    samplingPopulation: spec.privacy
      ? {
          devices: population,
          counted: spec.privacy.population !== undefined ? 'privacy.population' : 'active',
        }
      : null,
    round: task.round,
    committedRounds: task.committedRounds,
    createdAt: new Date(task.createdAt).toISOString(),
    updatedAt: new Date(task.updatedAt).toISOString(),
    ...(task.error ? { error: task.error } : {}),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
  }
}

const seconds = (from: number, to: number) => (to - from) / 1000

/** Waiting for devices apart from their work: the first assignment divides the two. */
function phases({ startedAt, firstAssignedAt: first, closedAt: closed }: RoundRecord) {
  return {
    waitingSeconds:
      first !== null
        ? seconds(startedAt, first)
        : closed !== null
          ? seconds(startedAt, closed)
          : null,
    trainingSeconds: first !== null && closed !== null ? seconds(first, closed) : null,
  }
}

/** Held-out accuracy by class name, where the dataset names every label the round measured. */
function byClass(
  accuracy: readonly (number | null)[] | null,
  classes: readonly string[],
): Record<string, number | null> | null {
  if (!accuracy || classes.length < accuracy.length) return null
  return Object.fromEntries(accuracy.map((a, label) => [classes[label]!, a]))
}

/** `classes`: the class names of the task's dataset, by label (to name held-out accuracy by). */
export function roundView(r: RoundRecord, classes: readonly string[] = []): RoundView {
  return {
    round: r.round,
    status: r.status,
    selected: r.selected,
    reported: r.reported,
    late: r.late,
    rejected: r.rejected,
    dropped: r.dropped,
    examples: r.examples,
    accuracy: r.accuracy,
    loss: r.loss,
    accuracyByLabel: r.accuracyByLabel && [...r.accuracyByLabel],
    accuracyByClass: byClass(r.accuracyByLabel, classes),
    confusion: r.confusion && r.confusion.map((row) => [...row]),
    trainingLoss: r.trainingLoss,
    staleness: r.staleness && [...r.staleness],
    epsilon: r.epsilon,
    updateBounds: r.updateBounds && { ...r.updateBounds },
    abandonedReason: r.abandonedReason,
    baseModel: r.baseModel,
    model: r.model,
    startedAt: new Date(r.startedAt).toISOString(),
    firstAssignedAt: iso(r.firstAssignedAt),
    ...phases(r),
    deadlineAt: iso(r.deadlineAt),
    closedAt: iso(r.closedAt),
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
    bytesUpByCodec: { ...r.bytesUpByCodec },
    bytesDownByEncoding: { ...r.bytesDownByEncoding },
    participation: structuredClone(r.participation),
  }
}
