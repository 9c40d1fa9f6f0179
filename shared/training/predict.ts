import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { setWeights } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { batchTensors, forward, modelIo, withModel } from './common.ts'

/**
 * The class probabilities the model gives one example of `shape` (bytes 0..255 or scaled
 * float32 values, as stored), with `weights` set into it first: "try the model" on a digit the
 * owner drew.
 */
export async function predict(
  model: tfl.LayersModel,
  weights: readonly NamedTensor[],
  features: Uint8Array | Float32Array,
  shape: number[],
): Promise<Float32Array> {
  const example = { count: 1, shape, features, labels: Uint8Array.of(0) }
  const io = modelIo(model, example)
  return await withModel(model, async () => {
    setWeights(model, weights)
    const probs = tf.tidy(() => forward(model, batchTensors(example, [0], io).x, false))
    try {
      return Float32Array.from(await probs.data())
    } finally {
      probs.dispose()
    }
  })
}
