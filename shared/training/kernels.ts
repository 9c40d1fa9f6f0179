import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'

/**
 * Kernels a layer needs to train, beyond those every backend has. A backend can lack some: TF.js
 * 4.22's wasm has no depthwise gradients, and no Conv2DBackpropFilter but Pollen's own
 * (shared/kernels, registered by useBackend). Layers not listed here are not checked.
 */
export const TRAINING_KERNELS: Readonly<Record<string, readonly string[]>> = {
  Conv1D: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
  Conv2D: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
  Conv2DTranspose: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
  DepthwiseConv2D: [
    'DepthwiseConv2dNative',
    'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter',
  ],
  SeparableConv2D: [
    'DepthwiseConv2dNative',
    'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter',
    'Conv2D',
    'Conv2DBackpropInput',
    'Conv2DBackpropFilter',
  ],
  MaxPooling1D: ['MaxPool', 'MaxPoolGrad'],
  MaxPooling2D: ['MaxPool', 'MaxPoolGrad'],
  AveragePooling1D: ['AvgPool', 'AvgPoolGrad'],
  AveragePooling2D: ['AvgPool', 'AvgPoolGrad'],
}

function layerClasses(model: tfl.LayersModel, into = new Set<string>()): Set<string> {
  for (const layer of model.layers) {
    into.add(layer.getClassName())
    const nested = layer as Partial<tfl.LayersModel>
    if (Array.isArray(nested.layers)) layerClasses(layer as tfl.LayersModel, into)
  }
  return into
}

/**
 * The kernels `model` needs for training that `backend` (default: the active one) has not
 * registered. Empty means it can train there, as far as this table knows; a device can say at
 * check-in which tasks it can take.
 */
export function missingTrainingKernels(
  model: tfl.LayersModel,
  backend: string = tf.getBackend(),
): string[] {
  const missing = new Set<string>()
  for (const cls of layerClasses(model)) {
    for (const kernel of TRAINING_KERNELS[cls] ?? []) {
      if (!tf.getKernel(kernel, backend)) missing.add(kernel)
    }
  }
  return [...missing]
}

/**
 * Throws unless the active backend can train `model`. Checked before training because a kernel
 * missing from the backward pass fails after the forward pass, leaving tensors behind.
 */
export function assertTrainable(model: tfl.LayersModel): void {
  const backend = tf.getBackend()
  const missing = missingTrainingKernels(model, backend)
  if (missing.length > 0) {
    throw new Error(
      `cannot train model '${model.name}' on the '${backend}' backend: it has no ` +
        `${missing.join(', ')} kernel${missing.length > 1 ? 's' : ''}`,
    )
  }
}
