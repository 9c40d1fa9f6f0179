// What a phone is told of a task (GET /api/v1/devices/tasks): the terms its owner weighs before
// joining, and once the task ended, how it ended and how good its final model is, so that the
// phones that took part can still try that model.
import { type DatasetSpec, type DeviceTaskView, isEnded } from '../../shared/protocol/index.ts'
import type { ModelInfo } from '../models/index.ts'
import type { Store, TaskRecord } from '../store/index.ts'

export function deviceTaskView(
  record: TaskRecord,
  info: Pick<ModelInfo, 'parameters' | 'payloadBytes'>,
  accuracy: number | null,
  datasetSpec: DatasetSpec | null = null,
): DeviceTaskView {
  const { spec } = record
  return {
    id: record.id,
    name: spec.name,
    purpose: spec.purpose,
    status: record.status,
    endedAt: isEnded(record.status) ? new Date(record.updatedAt).toISOString() : null,
    ...(record.stoppedReason ? { stoppedReason: record.stoppedReason } : {}),
    dataset: spec.dataset,
    datasetSpec,
    model: { preset: spec.model.preset, parameters: info.parameters },
    updateBytes: info.payloadBytes,
    mode: spec.mode,
    rounds: {
      total: spec.rounds.total,
      committed: record.committedRounds,
      deadlineSeconds: spec.rounds.deadlineSeconds,
    },
    async:
      spec.mode === 'async'
        ? {
            bufferSize: spec.async.bufferSize,
            maxStaleness: spec.async.maxStaleness,
            concurrency: spec.async.concurrency,
          }
        : null,
    accuracy,
    privacy: {
      differentialPrivacy: spec.privacy && {
        mode: spec.privacy.mode,
        clipNorm: spec.privacy.clipNorm,
        noiseMultiplier: spec.privacy.noiseMultiplier,
        delta: spec.privacy.delta,
        epsilonBudget: spec.privacy.epsilonBudget,
        epsilonSpent: record.privacySpent?.epsilon ?? 0,
      },
      secureAggregation: spec.secureAggregation !== null,
    },
  }
}

/**
 * The held-out accuracy of a task's latest committed model. Read from the store once per commit
 * (phones list tasks often, a task commits rarely): the answer is kept while the task's count of
 * committed rounds stays the same. Call it once that commit's writes are stored.
 */
export function latestAccuracy(store: Pick<Store, 'listRounds'>) {
  const known = new Map<string, { committed: number; accuracy: number | null }>()
  return async function accuracyOf(record: TaskRecord): Promise<number | null> {
    const cached = known.get(record.id)
    if (cached?.committed === record.committedRounds) return cached.accuracy
    let accuracy: number | null = null
    if (record.committedRounds > 0) {
      const committed = (await store.listRounds(record.id)).filter((r) => r.status === 'committed')
      const latest = committed.reduce<(typeof committed)[number] | undefined>(
        (a, r) => (a && a.round > r.round ? a : r),
        undefined,
      )
      accuracy = latest?.accuracy ?? null
    }
    known.set(record.id, { committed: record.committedRounds, accuracy })
    return accuracy
  }
}
