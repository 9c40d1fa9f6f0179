import * as tfl from '@tensorflow/tfjs-layers'

export type PresetName = 'mnist-2nn' | 'mnist-cnn' | 'synet'

export const PRESETS: readonly PresetName[] = ['mnist-2nn', 'mnist-cnn', 'synet']

/**
 * The preset architectures. Every layer has an explicit name: weight names (`conv1/kernel`) come
 * from layer names, so they must not depend on what else the process has built.
 */
export const presetBuilders: Record<PresetName, () => tfl.LayersModel> = {
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
  'mnist-cnn': () =>
    tfl.sequential({
      name: 'mnist-cnn',
      layers: [
        tfl.layers.conv2d({
          name: 'conv1',
          inputShape: [28, 28, 1],
          filters: 32,
          kernelSize: 5,
          padding: 'same',
          activation: 'relu',
        }),
        tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
        tfl.layers.conv2d({
          name: 'conv2',
          filters: 64,
          kernelSize: 5,
          padding: 'same',
          activation: 'relu',
        }),
        tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
        tfl.layers.flatten({ name: 'flatten' }),
        tfl.layers.dense({ name: 'fc1', units: 512, activation: 'relu' }),
        tfl.layers.dense({ name: 'fc2', units: 10, activation: 'softmax' }),
      ],
    }),

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
