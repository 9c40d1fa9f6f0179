// Top-k's error feedback on a device: the residual its last top-k upload kept back, per task,
// with the round it was made in. A phone keeps it in IndexedDB, a simulated device in memory.
import { residualAfterAbsence } from '../../shared/codecs/index.ts'
import type { Assignment } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'

/** What a top-k upload kept back: one tensor per update tensor, and the round it was made in. */
export interface KeptResidual {
  round: number
  tensors: NamedTensor[]
}

/** Where a device keeps its residuals, one per task, each replaced by the next upload's. */
export interface ResidualStore {
  get(taskId: string): Promise<KeptResidual | undefined>
  put(taskId: string, kept: KeptResidual): Promise<void>
}

/** A simulated device's residuals: in memory, for as long as it runs. */
export function memoryResiduals(): ResidualStore {
  const kept = new Map<string, KeptResidual>()
  return {
    get: (taskId) => Promise.resolve(kept.get(taskId)),
    put(taskId, residual) {
      kept.set(taskId, residual)
      return Promise.resolve()
    },
  }
}

/**
 * The residual to add to this round's update, one array per tensor: the kept one, while it is
 * at most 10 rounds behind (`residualAfterAbsence`: older, it no longer descends, and is
 * dropped) and fits the update tensor for tensor. Null for none: a first round, one made in this
 * round or a later one (a restarted task), or one of another model's shape.
 */
export function usableResidual(
  kept: KeptResidual | undefined,
  assignment: Assignment,
  update: readonly NamedTensor[],
): Float32Array[] | null {
  if (!kept) return null
  const behind = assignment.round - kept.round
  if (!Number.isSafeInteger(behind) || behind < 1) return null
  const fits =
    kept.tensors.length === update.length &&
    kept.tensors.every(
      (t, i) => t.name === update[i]!.name && t.data.length === update[i]!.data.length,
    )
  if (!fits) return null
  const data = kept.tensors.map((t) => residualAfterAbsence(t.data, behind))
  return data.every((d): d is Float32Array => d !== null) ? data : null
}

/** The residual an encode gave back, as the store keeps it: named as the update's tensors. */
export const keptResidual = (
  assignment: Assignment,
  update: readonly NamedTensor[],
  residual: readonly Float32Array[],
): KeptResidual => ({
  round: assignment.round,
  tensors: update.map(({ name, shape, dtype }, i) => ({ name, shape, dtype, data: residual[i]! })),
})
