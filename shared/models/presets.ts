import * as tfl from '@tensorflow/tfjs-layers'

/** The MNIST presets: 28×28×1 inputs, 10 classes, as they always were. */
export type MnistPresetName = 'mnist-2nn' | 'mnist-cnn' | 'synet'
export type PresetName = MnistPresetName | 'cifar-cnn' | 'tabular-mlp'

export const MNIST_PRESETS: readonly MnistPresetName[] = ['mnist-2nn', 'mnist-cnn', 'synet']
export const PRESETS: readonly PresetName[] = [...MNIST_PRESETS, 'cifar-cnn', 'tabular-mlp']

/** Classes a preset outputs when its spec does not say (and no dataset filled them in). */
export const DEFAULT_CLASSES = 10
/** tabular-mlp's hidden layers when its spec does not say. */
export const DEFAULT_HIDDEN: readonly number[] = [64, 64]

/**
 * The numbers a sized preset is built with. Fields are optional in a spec as sent; the
 * coordinator fills them from the task's dataset (fitModelToDataset) and stores them.
 * (`| undefined` so a schema's optional output is one.)
 */
export interface PresetSize {
  classes?: number | undefined
  inputs?: number | undefined
  hidden?: number[] | undefined
}

/**
 * McMahan et al. 2017's CNN: two 5×5 convolutions (32 then 64 filters, same padding), each with
 * a 2×2 max-pool, a dense ReLU layer of `dense` units, and a softmax over `classes`.
 */
function mcmahanCnn(
  name: string,
  inputShape: [number, number, number],
  dense: number,
  classes: number,
): tfl.LayersModel {
  const conv = (layer: string, filters: number, first: boolean) =>
    tfl.layers.conv2d({
      name: layer,
      ...(first ? { inputShape } : {}),
      filters,
      kernelSize: 5,
      padding: 'same',
      activation: 'relu',
    })
  return tfl.sequential({
    name,
    layers: [
      conv('conv1', 32, true),
      tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      conv('conv2', 64, false),
      tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ name: 'fc1', units: dense, activation: 'relu' }),
      tfl.layers.dense({ name: 'fc2', units: classes, activation: 'softmax' }),
    ],
  })
}

const mnistBuilders: Record<MnistPresetName, () => tfl.LayersModel> = {
  /** McMahan et al. 2017 "2NN": 784-200-200-10, ReLU. 199,210 parameters. */
  'mnist-2nn': () =>
    tfl.sequential({
      name: 'mnist-2nn',
      layers: [
        tfl.layers.dense({ name: 'fc1', inputShape: [784], units: 200, activation: 'relu' }),
        tfl.layers.dense({ name: 'fc2', units: 200, activation: 'relu' }),
        tfl.layers.dense({ name: 'fc3', units: 10, activation: 'softmax' }),
      ],
    }),

  /** McMahan et al. 2017 "CNN": two 5x5 conv (32, 64) each with 2x2 max-pool, dense 512. 1,663,370 parameters. */
  'mnist-cnn': () => mcmahanCnn('mnist-cnn', [28, 28, 1], 512, 10),

  /** PySyft Duet's `SyNet` (the PyTorch MNIST example). 1,199,882 parameters. */
  synet: () =>
    tfl.sequential({
      name: 'synet',
      layers: [
        tfl.layers.conv2d({
          name: 'conv1',
          inputShape: [28, 28, 1],
          filters: 32,
          kernelSize: 3,
          padding: 'valid',
          activation: 'relu',
        }),
        tfl.layers.conv2d({
          name: 'conv2',
          filters: 64,
          kernelSize: 3,
          padding: 'valid',
          activation: 'relu',
        }),
        tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }),
        tfl.layers.dropout({ name: 'dropout1', rate: 0.25 }),
        tfl.layers.flatten({ name: 'flatten' }),
        tfl.layers.dense({ name: 'fc1', units: 128, activation: 'relu' }),
        tfl.layers.dropout({ name: 'dropout2', rate: 0.5 }),
        tfl.layers.dense({ name: 'fc2', units: 10, activation: 'softmax' }),
      ],
    }),
}

/**
 * McMahan et al. 2017's CIFAR model shape (two 5×5 conv, 32 then 64 filters, each with a 2×2
 * max-pool, then dense) for 32×32 RGB photos, with a 128-unit dense layer instead of their 384 +
 * 192 so a phone trains and uploads it in a round: 579,402 parameters at 10 classes (2.3 MB).
 */
function cifarCnn({ classes = DEFAULT_CLASSES }: PresetSize): tfl.LayersModel {
  return mcmahanCnn('cifar-cnn', [32, 32, 3], 128, classes)
}

/**
 * A small MLP for tabular rows: `inputs` columns, ReLU hidden layers (64, 64 by default), a
 * softmax over `classes`. 5,514 parameters at 10 inputs and 10 classes.
 */
function tabularMlp({
  inputs,
  classes = DEFAULT_CLASSES,
  hidden = [...DEFAULT_HIDDEN],
}: PresetSize): tfl.LayersModel {
  if (inputs === undefined)
    throw new Error("preset 'tabular-mlp' needs 'inputs' (its dataset's columns)")
  const layers = hidden.map((units, i) =>
    tfl.layers.dense({
      name: `fc${i + 1}`,
      units,
      activation: 'relu',
      ...(i === 0 ? { inputShape: [inputs] } : {}),
    }),
  )
  layers.push(
    tfl.layers.dense({
      name: `fc${hidden.length + 1}`,
      units: classes,
      activation: 'softmax',
      ...(hidden.length === 0 ? { inputShape: [inputs] } : {}),
    }),
  )
  return tfl.sequential({ name: 'tabular-mlp', layers })
}

/**
 * The preset architectures. Every layer has an explicit name: weight names (`conv1/kernel`) come
 * from layer names, so they must not depend on what else the process has built.
 */
export const presetBuilders: Record<PresetName, (size: PresetSize) => tfl.LayersModel> = {
  ...mnistBuilders,
  'cifar-cnn': cifarCnn,
  'tabular-mlp': tabularMlp,
}
