import type { Weighting } from '../protocol/index.ts'
import type { NamedTensor, UpdateTensors } from '../tensors/index.ts'
import { createNormalizedMean } from './normalized-mean.ts'
import type { WeightSpecEntry } from './running-sum.ts'
import { createWeightedMean, type MeanPartial } from './weighted-mean.ts'

/** The work behind one delta: the examples it saw and the local steps it took. */
export interface LocalWork {
  examples: number
  steps: number
}

/** A round's aggregate delta under one weighting, streamed one report at a time. */
export interface DeltaMean {
  /** Adds one report, or throws a RangeError and leaves the mean as it was. */
  add(delta: UpdateTensors, work: LocalWork): void
  readonly count: number
  /** The aggregate delta Δ, or null before any report. */
  mean(): NamedTensor[] | null
  /** The running state, to merge into the mean of the same weighting elsewhere. */
  partial(): MeanPartial
  /** Adds the partial() of a mean of the same weighting and spec; a RangeError changes nothing. */
  merge(partial: MeanPartial): void
}

/**
 * 'examples': Σnᵢ Δᵢ/Σnᵢ (McMahan et al. 2017); 'uniform': the plain mean;
 * 'normalized': FedNova's (see createNormalizedMean), which refuses a report with no steps.
 */
export function createDeltaMean(weighting: Weighting, spec: readonly WeightSpecEntry[]): DeltaMean {
  if (weighting === 'normalized') {
    const mean = createNormalizedMean(spec)
    return {
      add: (delta, { examples, steps }) => mean.add(delta, examples, steps),
      get count() {
        return mean.count
      },
      mean: () => mean.mean(),
      partial: () => mean.partial(),
      merge: (partial) => mean.merge(partial),
    }
  }
  const mean = createWeightedMean(spec)
  return {
    add: (delta, { examples }) => mean.add(delta, weighting === 'examples' ? examples : 1),
    get count() {
      return mean.count
    },
    mean: () => mean.mean(),
    partial: () => mean.partial(),
    merge: (partial) => mean.merge(partial),
  }
}
