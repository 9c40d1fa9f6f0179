import { allFinite } from '../../shared/aggregation/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import type { HeldOutResult } from '../evaluation/index.ts'

/**
 * Why a round's new model must not be committed, or null when it may: a weight that is not
 * finite, or (where a held-out set exists) a held-out loss that is not. Such a model would be
 * the base every device then trains on, and every honest update computed on it would be refused
 * as not finite: the task would be stuck for good. Each value of float32's range is finite, so
 * the loss is what catches weights too large to use.
 */
export function commitRefusal(
  weights: readonly NamedTensor[],
  heldOut: HeldOutResult | null,
): string | null {
  if (!allFinite(weights)) return 'the aggregated model holds NaN or infinite weights'
  if (heldOut && !Number.isFinite(heldOut.loss))
    return `the aggregated model's held-out loss is ${heldOut.loss}, not finite`
  return null
}
