// What a custom topology may hold: the layers, activations and initialisers Pollen accepts, and
// what a model may cost. The check (topology-check.ts) enforces them.

/**
 * What a custom model may cost. Parameters bound the model's bytes (4 per parameter, on the wire
 * and in every device's memory); activations bound what one example's forward pass holds (every
 * layer's output, the input included), which a device multiplies by its batch size.
 */
export interface ModelBudget {
  maxParameters: number
  maxActivations: number
}

/** A model a phone can hold and train: 10 M parameters (40 MB), 1 M values per example. */
export const DEFAULT_MODEL_BUDGET: Readonly<ModelBudget> = {
  maxParameters: 10_000_000,
  maxActivations: 1_000_000,
}

/**
 * The layer classes Pollen accepts: TF.js registers them, and their forward and backward passes
 * run on every backend Pollen trains on (WASM has no kernel for the gradients of Embedding,
 * DepthwiseConv2D or SeparableConv2D, so those are left out).
 */
export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'Activation',
  'BatchNormalization',
  'Add',
  'Concatenate',
] as const

export const SUPPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softmax',
  'softplus',
  'softsign',
  'swish',
] as const

/**
 * Initialisers, by the class name TF.js writes. Orthogonal is not among them: TF.js builds it by a
 * QR decomposition that blocks for seconds on a kernel of a few hundred columns, and in Pollen's
 * TF.js build it then fails (it calls a chained op Pollen does not register).
 */
export const SUPPORTED_INITIALIZERS = [
  'Zeros',
  'Ones',
  'Constant',
  'RandomUniform',
  'RandomNormal',
  'TruncatedNormal',
  'VarianceScaling',
  'GlorotUniform',
  'GlorotNormal',
  'HeUniform',
  'HeNormal',
  'LeCunUniform',
  'LeCunNormal',
] as const

/** Layers in one topology: far more than any phone model needs, and a bound on the check's work. */
export const MAX_LAYERS = 1_000

/** What the check learnt, without building anything. Shapes leave out the batch dimension. */
export interface TopologySummary {
  parameters: number
  activations: number
  inputShape: number[]
  outputShape: number[]
  layers: number
}
