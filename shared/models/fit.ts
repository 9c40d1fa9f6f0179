// Whether a task's model can train on its dataset: the coordinator asks before it accepts a task.
import { type DatasetSpec, exampleShape, exampleSize } from '../protocol/datasets.ts'
import { buildModel, type ModelSpec } from './models.ts'
import { DEFAULT_HIDDEN } from './presets.ts'
import { checkTopology } from './topology-check.ts'

export type FitResult = { ok: true; model: ModelSpec } | { ok: false; message: string }

/** Only shapes matter here: what a model may cost is the registry's to say, with its budget. */
const NO_BUDGET = { maxParameters: Infinity, maxActivations: Infinity }

/**
 * The task's model as it will be stored, fitted to its dataset: a sized preset gets the numbers
 * it leaves out from the dataset (classes; a tabular-mlp's inputs and hidden layers), then the
 * model's input and output are checked against the dataset's examples and classes. The input
 * must be the example's shape ([H, W, C] for images, [columns] for tabular rows) or that shape
 * flattened ([H·W·C]: the model takes the pixels as one vector, as mnist-2nn does); any other
 * shape of the same size (say [28, 28] for 28×28×1) is refused rather than reshaped by guess.
 * The output must have exactly as many classes as the dataset names. A custom topology is read
 * by checkTopology, never built, so a hostile one costs no more here than its size.
 */
export function fitModelToDataset(model: ModelSpec, dataset: DatasetSpec): FitResult {
  const fitted = filled(model, dataset)
  let io: { input: number[]; classes: number }
  try {
    io = modelIo(fitted)
  } catch (error) {
    // A topology checkTopology refuses, or a preset whose numbers do not build.
    if (!(error instanceof Error)) throw error
    return { ok: false, message: `model '${model.preset}': ${error.message}` }
  }
  const shape = exampleShape(dataset.features)
  const size = exampleSize(dataset.features)
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i])
  const inputFits = same(io.input, shape) || same(io.input, [size])
  const classesFit = io.classes === dataset.classes.length
  if (inputFits && classesFit) return { ok: true, model: fitted }
  const why = [
    ...(inputFits ? [] : [`its input must be [${shape.join(', ')}] or [${size}]`]),
    ...(classesFit ? [] : [`its output must have ${dataset.classes.length} classes`]),
  ].join(' and ')
  return {
    ok: false,
    message:
      `model '${model.preset}' takes [${io.input.join(', ')}] and outputs ${io.classes} classes; ` +
      `dataset '${dataset.name}' has examples of [${shape.join(', ')}] and ${dataset.classes.length} classes: ${why}`,
  }
}

/** A sized preset with every number it leaves out taken from the dataset. */
function filled(model: ModelSpec, dataset: DatasetSpec): ModelSpec {
  const classes = dataset.classes.length
  switch (model.preset) {
    case 'cifar-cnn':
      return { preset: 'cifar-cnn', classes: model.classes ?? classes }
    case 'tabular-mlp':
      return {
        preset: 'tabular-mlp',
        inputs: model.inputs ?? exampleSize(dataset.features),
        hidden: model.hidden ?? [...DEFAULT_HIDDEN],
        classes: model.classes ?? classes,
      }
    default:
      return model
  }
}

/** What the model takes per example and how many classes it outputs. */
function modelIo(model: ModelSpec): { input: number[]; classes: number } {
  if (model.preset === 'custom') {
    const summary = checkTopology(model.topology, NO_BUDGET)
    return { input: summary.inputShape, classes: summary.outputShape[0]! }
  }
  // A preset is small and Pollen's own: building it is the surest way to read its shapes.
  const built = buildModel(model)
  try {
    return {
      input: built.inputs[0]!.shape.slice(1) as number[],
      classes: built.outputs[0]!.shape[1] as number,
    }
  } finally {
    built.dispose()
  }
}
