import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { type NamedTensor, tensorSize } from '../tensors/named-tensor.ts'
import { type MnistPresetName, type PresetSize, PRESETS, presetBuilders } from './presets.ts'
import { modelFromTopology } from './topology.ts'

/**
 * Which model a task trains: a preset (the sized ones with their classes, inputs, hidden
 * layers), or any TF.js Layers topology (`toLayersTopology`).
 */
export type ModelSpec =
  | { preset: MnistPresetName }
  | ({ preset: 'cifar-cnn' } & Pick<PresetSize, 'classes'>)
  | ({ preset: 'tabular-mlp' } & PresetSize)
  | { preset: 'custom'; topology: unknown }

export interface WeightSpec {
  name: string
  shape: number[]
}

/**
 * Builds the (uncompiled) model for a spec, with freshly initialised weights. Presets are built
 * identically everywhere; weight names (`fc1/kernel`) are stable across builds and processes.
 * Throws an Error saying what is wrong with an unknown preset or a custom topology that does not
 * build, or that is not one input to one class-probability output.
 */
export function buildModel(spec: ModelSpec): tfl.LayersModel {
  let model: tfl.LayersModel
  if (spec.preset === 'custom') {
    model = modelFromTopology(spec.topology)
  } else if (Object.hasOwn(presetBuilders, spec.preset)) {
    model = presetBuilders[spec.preset](spec as PresetSize)
  } else {
    throw new Error(
      `unknown model preset '${String((spec as { preset: unknown }).preset)}' ` +
        `(one of ${[...PRESETS, 'custom'].join(', ')})`,
    )
  }
  try {
    assertUsable(model)
  } catch (e) {
    model.dispose()
    throw e
  }
  return model
}

function assertUsable(model: tfl.LayersModel): void {
  const what = `model '${model.name}'`
  if (model.inputs.length !== 1)
    throw new Error(`${what} has ${model.inputs.length} inputs, expected 1`)
  if (model.outputs.length !== 1) {
    throw new Error(`${what} has ${model.outputs.length} outputs, expected 1`)
  }
  const out = model.outputs[0]!.shape
  if (out.length !== 2 || typeof out[1] !== 'number') {
    throw new Error(`${what} outputs shape ${JSON.stringify(out)}, expected [batch, classes]`)
  }
  if (model.weights.length > 0 && updateSpec(model).length === 0)
    throw new Error(`${what} has no layer to train: every layer is marked trainable: false`)
  const seen = new Set<string>()
  for (const w of model.weights) {
    if (w.dtype !== 'float32') throw new Error(`${what}: weight '${w.originalName}' is ${w.dtype}`)
    if (seen.has(w.originalName)) {
      throw new Error(
        `${what}: two weights are named '${w.originalName}'; give layers unique names`,
      )
    }
    seen.add(w.originalName)
  }
}

/**
 * The stable name of a weight: `layer/weight` as the model defines it. (`LayerVariable.name`
 * gets `_1`, `_2` suffixes when a process builds the same model twice; `originalName` does not.)
 */
export const weightName = (w: tfl.LayerVariable): string => w.originalName

export function weightSpec(model: tfl.LayersModel): WeightSpec[] {
  return model.weights.map((w) => ({ name: weightName(w), shape: w.shape as number[] }))
}

/**
 * The weights a device trains and an update carries: every weight of a layer that trains (a
 * BatchNormalization's moving statistics too, which training moves), none of a layer marked
 * `trainable: false`, whose weights stay on every device as they came and in every committed
 * model bit for bit. In `model.weights` order; every weight when no layer is frozen.
 */
export function updateSpec(model: tfl.LayersModel): WeightSpec[] {
  const frozen = new Set(
    model.layers.filter((l) => !l.trainable).flatMap((l) => l.weights.map(weightName)),
  )
  return weightSpec(model).filter((w) => !frozen.has(w.name))
}

/** Copies the model's weights out, in `model.weights` order. */
export function getWeights(model: tfl.LayersModel): NamedTensor[] {
  return model.weights.map((w) => ({
    name: weightName(w),
    shape: w.shape as number[],
    dtype: 'float32',
    data: new Float32Array(w.read().dataSync()),
  }))
}

/**
 * Sets every weight of the model from `tensors`, matched by name (order does not matter). Throws,
 * naming the tensor, when one is missing, unknown, or of the wrong shape, size or dtype; on a
 * throw the model is unchanged.
 */
export function setWeights(model: tfl.LayersModel, tensors: readonly NamedTensor[]): void {
  const byName = new Map<string, NamedTensor>()
  for (const t of tensors) {
    if (byName.has(t.name)) throw new Error(`setWeights: tensor '${t.name}' given twice`)
    byName.set(t.name, t)
  }
  const pairs = model.weights.map((w) => {
    const name = weightName(w)
    const t = byName.get(name)
    if (!t) throw new Error(`setWeights: no tensor for weight '${name}' of model '${model.name}'`)
    byName.delete(name)
    const shape = w.shape as number[]
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(
        `setWeights: tensor '${name}' has shape [${t.shape.join(', ')}], the model's is [${shape.join(', ')}]`,
      )
    }
    if (t.dtype !== 'float32' || !(t.data instanceof Float32Array)) {
      throw new Error(`setWeights: tensor '${name}' is not float32`)
    }
    if (t.data.length !== tensorSize(shape)) {
      throw new Error(
        `setWeights: tensor '${name}' has ${t.data.length} values for shape [${shape.join(', ')}]`,
      )
    }
    return [w, t] as const
  })
  const extra = [...byName.keys()]
  if (extra.length > 0) {
    throw new Error(`setWeights: model '${model.name}' has no weight named '${extra.join("', '")}'`)
  }
  tf.tidy(() => {
    for (const [w, t] of pairs) w.write(tf.tensor(t.data, t.shape, 'float32'))
  })
}

/**
 * One built model per spec, built on first use, for a caller that sets the weights it means into
 * it before every use (training, evaluating, predicting) and keeps the cache to itself.
 */
export function modelsBySpec(): (spec: ModelSpec) => tfl.LayersModel {
  const built = new Map<string, tfl.LayersModel>()
  return (spec) => {
    const key = JSON.stringify(spec)
    let model = built.get(key)
    if (!model) {
      model = buildModel(spec)
      built.set(key, model)
    }
    return model
  }
}

/** Number of weights (trainable or not) in the spec's model. */
export function parameterCount(spec: ModelSpec): number {
  const model = buildModel(spec)
  try {
    return model.countParams()
  } finally {
    model.dispose()
  }
}
