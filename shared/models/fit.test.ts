import { beforeAll, describe, expect, it } from 'vitest'
import { type DatasetSpec, MNIST_DATASET } from '../protocol/datasets.ts'
import { ModelSpecSchema } from '../protocol/task.ts'
import { useBackend } from '../tf/index.ts'
import { buildModel, fitModelToDataset, type ModelSpec, toLayersTopology } from './index.ts'
import { dense, sequential } from './topology-cases.ts'

beforeAll(async () => {
  await useBackend('wasm')
})

const flowers: DatasetSpec = {
  name: 'flowers',
  description: '',
  tags: [],
  features: { kind: 'image', height: 32, width: 32, channels: 3 },
  classes: ['daisy', 'rose', 'tulip'],
  deviceLabelling: true,
}

const sensors: DatasetSpec = {
  name: 'sensors',
  description: '',
  tags: [],
  features: { kind: 'tabular', columns: ['t', 'h', 'p', 'v'].map((name) => ({ name })) },
  classes: ['ok', 'fault'],
  deviceLabelling: false,
}

/** The fitted model, or the test fails with the refusal's message. */
function fitted(model: ModelSpec, dataset: DatasetSpec): ModelSpec {
  const result = fitModelToDataset(model, dataset)
  if (!result.ok) throw new Error(result.message)
  return result.model
}

function refusal(model: ModelSpec, dataset: DatasetSpec): string {
  const result = fitModelToDataset(model, dataset)
  if (result.ok) throw new Error(`fitted ${JSON.stringify(result.model)}`)
  return result.message
}

describe('fitModelToDataset', () => {
  it('passes the MNIST presets on MNIST as they are', () => {
    for (const preset of ['mnist-2nn', 'mnist-cnn', 'synet'] as const)
      expect(fitted({ preset }, MNIST_DATASET)).toEqual({ preset })
  })

  it("fills a sized preset's numbers from the dataset, so the stored spec carries them", () => {
    expect(fitted({ preset: 'cifar-cnn' }, flowers)).toEqual({ preset: 'cifar-cnn', classes: 3 })
    expect(fitted({ preset: 'tabular-mlp' }, sensors)).toEqual({
      preset: 'tabular-mlp',
      inputs: 4,
      hidden: [64, 64],
      classes: 2,
    })
    // An MLP on an image's pixels, flattened, as mnist-2nn is.
    expect(fitted({ preset: 'tabular-mlp', hidden: [32] }, flowers)).toEqual({
      preset: 'tabular-mlp',
      inputs: 3072,
      hidden: [32],
      classes: 3,
    })
    // What it fills parses as a stored spec.
    expect(ModelSpecSchema.parse(fitted({ preset: 'tabular-mlp' }, sensors))).toBeTruthy()
  })

  it('refuses a model of another input shape, naming both', () => {
    expect(refusal({ preset: 'mnist-2nn' }, flowers)).toBe(
      "model 'mnist-2nn' takes [784] and outputs 10 classes; dataset 'flowers' has examples of " +
        '[32, 32, 3] and 3 classes: its input must be [32, 32, 3] or [3072] and its output must have 3 classes',
    )
    expect(refusal({ preset: 'cifar-cnn' }, MNIST_DATASET)).toMatch(
      /^model 'cifar-cnn' takes \[32, 32, 3\] and outputs 10 classes; dataset 'mnist' has examples of \[28, 28, 1\] and 10 classes: its input must be \[28, 28, 1\] or \[784\]$/,
    )
    expect(refusal({ preset: 'tabular-mlp', inputs: 5 }, sensors)).toMatch(
      /takes \[5\] and outputs 2 classes; dataset 'sensors' has examples of \[4\] and 2 classes: its input must be \[4\] or \[4\]$/,
    )
  })

  it('refuses a model of another number of classes, naming both', () => {
    expect(refusal({ preset: 'cifar-cnn', classes: 10 }, flowers)).toMatch(
      /takes \[32, 32, 3\] and outputs 10 classes; dataset 'flowers' has examples of \[32, 32, 3\] and 3 classes: its output must have 3 classes$/,
    )
    expect(refusal({ preset: 'mnist-cnn' }, { ...MNIST_DATASET, classes: ['a', 'b'] })).toMatch(
      /outputs 10 classes; dataset 'mnist' .* and 2 classes/,
    )
  })

  it('checks a custom topology without building it: flat or exact input, its classes', () => {
    const head = (input: number[], classes: number) =>
      sequential([
        { class_name: 'Flatten', config: { name: 'flat', batch_input_shape: [null, ...input] } },
        dense('out', classes, { activation: 'softmax' }),
      ])
    expect(fitted({ preset: 'custom', topology: head([32, 32, 3], 3) }, flowers).preset).toBe(
      'custom',
    )
    const flat = sequential([
      dense('out', 3, { activation: 'softmax', batch_input_shape: [null, 3072] }),
    ])
    expect(fitModelToDataset({ preset: 'custom', topology: flat }, flowers).ok).toBe(true)
    // The same size in another shape is refused rather than reshaped by guess.
    expect(refusal({ preset: 'custom', topology: head([32, 96], 3) }, flowers)).toMatch(
      /^model 'custom' takes \[32, 96\] and outputs 3 classes; .*its input must be \[32, 32, 3\] or \[3072\]$/,
    )
    const rows = sequential([
      dense('out', 3, { activation: 'softmax', batch_input_shape: [null, 4] }),
    ])
    expect(refusal({ preset: 'custom', topology: rows }, sensors)).toMatch(
      /takes \[4\] and outputs 3 classes; dataset 'sensors' .* its output must have 2 classes$/,
    )
    // An exported preset is a custom topology like any other.
    const topology = toLayersTopology(buildModel({ preset: 'mnist-cnn' }))
    expect(fitModelToDataset({ preset: 'custom', topology }, MNIST_DATASET).ok).toBe(true)
  })

  it("says what is wrong with a topology that is no model, or a preset's numbers that do not build", () => {
    expect(refusal({ preset: 'custom', topology: { class_name: 'Dense' } }, flowers)).toMatch(
      /^model 'custom': /,
    )
    expect(refusal({ preset: 'custom', topology: 'x' }, flowers)).toMatch(/^model 'custom': /)
  })
})
