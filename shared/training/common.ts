import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { assertExamples, type Examples, formatShape, shapeSize } from '../data/index.ts'
import { nextMacrotask } from '../tf/index.ts'

/** Probabilities are clipped to [EPSILON, 1 - EPSILON] before the log, as Keras does. */
export const EPSILON = 1e-7

/** What the model expects per example (without the batch dimension) and how many classes it outputs. */
export interface ModelIo {
  inputShape: number[]
  classes: number
}

/**
 * Checks that the model takes one example of `examples`' size (any shape holding as many values:
 * [28, 28, 1] digits fit a model taking [784]) and outputs at least as many classes as the
 * labels need. Errors name both sides.
 */
export function modelIo(model: tfl.LayersModel, examples: Examples): ModelIo {
  assertExamples(examples)
  const input = model.inputs[0]?.shape.slice(1) ?? []
  if (model.inputs.length !== 1 || input.some((d) => typeof d !== 'number')) {
    throw new Error(`model '${model.name}' must have one input of fixed shape`)
  }
  const inputShape = input as number[]
  const size = shapeSize(examples.shape)
  if (shapeSize(inputShape) !== size) {
    throw new Error(
      `examples of shape ${formatShape(examples.shape)} (${size} values) do not fit model ` +
        `'${model.name}', whose input is ${formatShape(inputShape)} (${shapeSize(inputShape)} values)`,
    )
  }
  const classes = model.outputs[0]?.shape[1]
  if (model.outputs.length !== 1 || typeof classes !== 'number') {
    throw new Error(`model '${model.name}' must have one [batch, classes] output`)
  }
  const maxLabel = examples.labels.reduce((a, b) => Math.max(a, b), 0)
  if (examples.count > 0 && maxLabel >= classes) {
    throw new Error(`label ${maxLabel} does not fit model '${model.name}' with ${classes} classes`)
  }
  return { inputShape, classes }
}

/**
 * The examples at `indices` as a [n, ...inputShape] float tensor and one-hot labels: byte
 * features scaled by 1/255 into [0, 1], float32 features (tabular, already scaled) as they are.
 */
export function batchTensors(
  examples: Examples,
  indices: ArrayLike<number>,
  { inputShape, classes }: ModelIo,
): { x: tf.Tensor; y: tf.Tensor2D } {
  const n = indices.length
  const size = shapeSize(inputShape)
  const { features } = examples
  const xs = new Float32Array(n * size)
  const ys = new Float32Array(n * classes)
  for (let k = 0; k < n; k++) {
    const i = indices[k]!
    const from = i * size
    const to = k * size
    if (features instanceof Float32Array) xs.set(features.subarray(from, from + size), to)
    else for (let p = 0; p < size; p++) xs[to + p] = features[from + p]! / 255
    ys[k * classes + examples.labels[i]!] = 1
  }
  return { x: tf.tensor(xs, [n, ...inputShape]), y: tf.tensor2d(ys, [n, classes]) }
}

/** Per-example categorical cross-entropy, [n], for softmax outputs `probs` and one-hot `y`. */
export function crossEntropy(y: tf.Tensor, probs: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const logProbs = tf.log(tf.clipByValue(probs, EPSILON, 1 - EPSILON))
    return tf.neg(tf.sum(tf.mul(y, logProbs), -1)) as tf.Tensor1D
  })
}

/** Runs the model on concrete tensors; `training` turns dropout on. */
export function forward(model: tfl.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor {
  const out = model.apply(x, { training })
  if (!(out instanceof tf.Tensor))
    throw new Error(`model '${model.name}' did not return one tensor`)
  return out
}

const busy = new WeakSet<tfl.LayersModel>()

/**
 * Runs `work` with exclusive use of `model`. Training and evaluation await between batches, so two
 * runs on one model object would overwrite each other's weights: the second is refused instead.
 */
export async function withModel<T>(model: tfl.LayersModel, work: () => Promise<T>): Promise<T> {
  if (busy.has(model)) {
    throw new Error(
      `model '${model.name}' is already in use by another training or evaluation; ` +
        'give each concurrent run its own model',
    )
  }
  busy.add(model)
  try {
    return await work()
  } finally {
    busy.delete(model)
  }
}

/** Yields to the event loop when more than `everyMs` passed since the last yield. */
export function yielder(everyMs: number, now = () => performance.now()): () => Promise<void> {
  let last = now()
  return async () => {
    if (now() - last < everyMs) return
    await nextMacrotask()
    last = now()
  }
}
