import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import type { Examples } from '../data/index.ts'
import { setWeights } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { batchTensors, crossEntropy, forward, modelIo, withModel } from './common.ts'
import { nextMacrotask } from '../tf/index.ts'

export interface EvaluateOptions {
  model: tfl.LayersModel
  /** Set into the model first; without them the model's current weights are evaluated. */
  weights?: readonly NamedTensor[]
  examples: Examples
  batchSize?: number
  signal?: AbortSignal
}

export interface Evaluation {
  /** Share of examples whose most probable class is the label. */
  accuracy: number
  /**
   * Mean categorical cross-entropy; NaN when the model's outputs are not all finite (the clipped
   * log would otherwise read a finite loss off NaN probabilities).
   */
  loss: number
  /** Accuracy per label (index = label); NaN for a label with no examples. */
  perLabelAccuracy: number[]
  /**
   * Counts of examples by true label (row) and predicted class (column), one row and one
   * column per class of the model: where the errors go, which per-label accuracy cannot say.
   */
  confusion: number[][]
  /** Examples evaluated, for weighting evaluations from several devices. */
  examples: number
}

/** Accuracy and loss of the model on `examples`, batch by batch, yielding between batches. */
export async function evaluate({
  model,
  weights,
  examples,
  batchSize = 500,
  signal,
}: EvaluateOptions): Promise<Evaluation> {
  const io = modelIo(model, examples)
  if (examples.count === 0) throw new RangeError('evaluate: no examples')
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(`evaluate: batchSize must be a positive integer, got ${batchSize}`)
  }
  return await withModel(model, async () => {
    if (weights) setWeights(model, weights)
    const { count, labels } = examples
    const confusion = Array.from({ length: io.classes }, () =>
      new Array<number>(io.classes).fill(0),
    )
    let lossSum = 0
    for (let start = 0; start < count; start += batchSize) {
      signal?.throwIfAborted()
      const indices = Array.from(
        { length: Math.min(batchSize, count - start) },
        (_, k) => start + k,
      )
      const [predicted, losses, broken] = tf.tidy((): [tf.Tensor, tf.Tensor, tf.Tensor] => {
        const { x, y } = batchTensors(examples, indices, io)
        const probs = forward(model, x, false)
        const notFinite = tf.any(tf.logicalNot(tf.isFinite(probs)))
        return [tf.argMax(probs, -1), tf.sum(crossEntropy(y, probs)), notFinite]
      })
      const [p, l, b] = await Promise.all([predicted.data(), losses.data(), broken.data()])
      tf.dispose([predicted, losses, broken])
      lossSum += b[0] ? NaN : l[0]!
      for (let k = 0; k < indices.length; k++) {
        confusion[labels[start + k]!]![p[k]!]!++
      }
      await nextMacrotask()
    }
    const correct = confusion.map((row, label) => row[label]!)
    const total = confusion.map((row) => row.reduce((a, b) => a + b, 0))
    const right = correct.reduce((a, b) => a + b, 0)
    return {
      accuracy: right / count,
      loss: lossSum / count,
      perLabelAccuracy: correct.map((c, label) => (total[label]! > 0 ? c / total[label]! : NaN)),
      confusion,
      examples: count,
    }
  })
}
