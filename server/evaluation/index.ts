import type { Examples } from '../../shared/data/index.ts'
import { modelsBySpec, type ModelSpec } from '../../shared/models/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import { evaluate } from '../../shared/training/index.ts'

export interface HeldOutResult {
  accuracy: number
  loss: number
  examples: number
  /**
   * Accuracy per label (index = label, one entry per class of the model); null for a label with
   * no held-out examples: not measured, which 0 would misreport and JSON cannot carry as NaN.
   */
  perLabelAccuracy: (number | null)[]
  /** Held-out examples by true label (row) and predicted class (column). */
  confusion: number[][]
}

/** Evaluates a model on the coordinator's held-out examples for a dataset, if it has any. */
export interface Evaluator {
  evaluate(
    spec: ModelSpec,
    weights: readonly NamedTensor[],
    dataset: string,
  ): Promise<HeldOutResult | null>
}

/** A dataset's held-out examples: a fixed map (tests, benchmarks) or a lookup (the datasets' blobs). */
export type HeldOutSource =
  ReadonlyMap<string, Examples> | ((dataset: string) => Promise<Examples | undefined>)

export function heldOutEvaluator({ heldOut }: { heldOut: HeldOutSource }): Evaluator {
  const examplesOf = (dataset: string): Promise<Examples | undefined> =>
    typeof heldOut === 'function' ? heldOut(dataset) : Promise.resolve(heldOut.get(dataset))
  // The evaluator's own models, one per spec, which nothing else can reach: `evaluate` sets the
  // weights it is given into one before each use. One evaluation at a time, for that reason.
  const modelFor = modelsBySpec()
  let queue: Promise<unknown> = Promise.resolve()
  return {
    evaluate(spec, weights, dataset) {
      const run = queue.then(async () => {
        // Looked up as the evaluation starts: a held-out set replaced meanwhile is the one used.
        const examples = await examplesOf(dataset)
        if (!examples || examples.count === 0) return null
        const result = await evaluate({ model: modelFor(spec), weights, examples })
        return {
          accuracy: result.accuracy,
          loss: result.loss,
          examples: result.examples,
          perLabelAccuracy: result.perLabelAccuracy.map((a) => (Number.isNaN(a) ? null : a)),
          confusion: result.confusion,
        }
      })
      queue = run.catch(() => undefined)
      return run
    },
  }
}
