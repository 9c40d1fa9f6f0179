import type { NamedTensor, UpdateTensors } from '../tensors/index.ts'
import { createRunningSum, type WeightSpecEntry } from './running-sum.ts'
import { partialNumber, type MeanPartial } from './weighted-mean.ts'

/**
 * FedNova's normalized average (Wang et al. 2020, "Tackling the Objective Inconsistency Problem
 * in Heterogeneous Federated Optimization"), for plain local SGD where a client's normalizing
 * vector is aᵢ = τᵢ, its local steps. With pᵢ = nᵢ/Σn:
 *
 *   Δ = (Σ pᵢτᵢ) · Σ pᵢ (Δᵢ/τᵢ)
 *
 * Each delta counts per step, so a device that ran more steps does not pull harder than its data
 * share; the sum is scaled back by the effective steps Σ pᵢτᵢ. Streams: (T/N²)·Σ (nᵢ/τᵢ)Δᵢ with
 * N = Σnᵢ and T = Σnᵢτᵢ, memory O(model).
 *
 * A report with no steps is refused (RangeError): Δᵢ/0 has no meaning, and counting its examples
 * with a zero delta would pull the aggregate towards the old model for work that was not done.
 */
export interface NormalizedMean {
  /** Adds one report, or throws a RangeError and leaves the mean as it was. */
  add(tensors: UpdateTensors, examples: number, steps: number): void
  readonly count: number
  /** N = Σnᵢ. */
  readonly examples: number
  /** Σ pᵢτᵢ: the local steps the aggregate counts as; 0 before any report. */
  readonly effectiveSteps: number
  /** The normalized aggregate delta, or null before any report. */
  mean(): NamedTensor[] | null
  /** Σ (nᵢ/τᵢ)Δᵢ flat, with N as its weight and T = Σnᵢτᵢ in extra (a copy). */
  partial(): MeanPartial
  /** Adds a partial() of the same spec: N, T and the sum all add. */
  merge(partial: MeanPartial): void
}

export function createNormalizedMean(spec: readonly WeightSpecEntry[]): NormalizedMean {
  const sum = createRunningSum(spec)
  let examples = 0
  let exampleSteps = 0
  return {
    add(tensors, n, steps) {
      if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`examples ${n} is not positive`)
      if (!(steps > 0) || !Number.isFinite(steps))
        throw new RangeError(
          `steps ${steps} is not positive: normalized weighting divides each delta by its local steps`,
        )
      sum.add(tensors, n / steps)
      examples += n
      exampleSteps += n * steps
    },
    get count() {
      return sum.count
    },
    get examples() {
      return examples
    },
    get effectiveSteps() {
      return examples === 0 ? 0 : exampleSteps / examples
    },
    mean() {
      return sum.count === 0 ? null : sum.scaled(exampleSteps / (examples * examples))
    },
    partial: () => ({
      count: sum.count,
      weight: examples,
      sum: sum.flat(),
      extra: { exampleSteps },
    }),
    merge(partial) {
      const n = partialNumber(partial.weight, 'weight')
      const t = partialNumber(partial.extra.exampleSteps, 'exampleSteps')
      sum.addFlat(partial.sum, partial.count)
      examples += n
      exampleSteps += t
    },
  }
}
