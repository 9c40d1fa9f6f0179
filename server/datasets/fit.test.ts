import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../shared/tf/index.ts'
import { MNIST_DATASET, TaskSpecSchema, type DatasetSpec } from '../../shared/protocol/index.ts'
import { checkDeclaredHistograms, fitTaskToDataset } from './fit.ts'

const FLOWERS: DatasetSpec = {
  ...MNIST_DATASET,
  name: 'flowers',
  features: { kind: 'image', height: 32, width: 32, channels: 3 },
  classes: ['rose', 'tulip', 'daisy'],
}
const task = (preset: string, dataset = 'flowers') =>
  TaskSpecSchema.parse({ name: 't', purpose: 'p', model: { preset }, dataset })

describe('a task fitted to its dataset', () => {
  // A preset's input and output are read from the model it builds.
  beforeAll(() => useBackend('cpu'))

  it('refuses a dataset no one declared, saying how to declare it', () => {
    expect(() => fitTaskToDataset(task('cifar-cnn', 'nope'), undefined)).toThrow(
      /POST \/api\/v1\/datasets/,
    )
    expect(() => fitTaskToDataset(task('cifar-cnn', 'nope'), undefined)).toThrow(
      expect.objectContaining({ field: 'dataset' }) as Error,
    )
  })

  it('fills a preset from the dataset, and refuses a model that does not fit by field model', () => {
    const fitted = fitTaskToDataset(task('cifar-cnn'), FLOWERS)
    expect(fitted.model).toMatchObject({ preset: 'cifar-cnn', classes: 3 })
    expect(() => fitTaskToDataset(task('mnist-2nn'), FLOWERS)).toThrow(
      expect.objectContaining({ code: 'invalid_request', field: 'model' }),
    )
    expect(fitTaskToDataset(task('mnist-2nn', 'mnist'), MNIST_DATASET).model).toEqual({
      preset: 'mnist-2nn',
    })
  })
})

describe('check-in histograms against the declared classes', () => {
  const specOf = (name: string) => (name === 'flowers' ? FLOWERS : undefined)

  it('clips zeros past the classes and passes undeclared names as they are', () => {
    const held = [
      { name: 'flowers', examples: 3, labels: [1, 2, 0, 0, 0] },
      { name: 'other', examples: 9, labels: new Array<number>(20).fill(0).fill(1, 19) },
    ]
    expect(checkDeclaredHistograms(held, specOf)).toEqual([
      { name: 'flowers', examples: 3, labels: [1, 2, 0] },
      held[1],
    ])
  })

  it('refuses a count of a label past the classes, naming the entry', () => {
    expect(() =>
      checkDeclaredHistograms(
        [
          { name: 'other', examples: 1, labels: [1] },
          { name: 'flowers', examples: 2, labels: [1, 0, 0, 1] },
        ],
        specOf,
      ),
    ).toThrow(expect.objectContaining({ field: 'datasets.1.labels' }))
  })
})
