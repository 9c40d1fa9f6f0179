import { describe, expect, it } from 'vitest'
import { MNIST_DATASET } from '../../shared/protocol/index.ts'
import type { DatasetRecord } from '../store/index.ts'
import { datasetListing, datasetView } from './views.ts'

const record = (name: string, more: Partial<DatasetRecord['spec']> = {}): DatasetRecord => ({
  name,
  spec: { ...MNIST_DATASET, name, ...more },
  createdAt: 0,
  updatedAt: 1000,
  heldOut: null,
})

describe('dataset views', () => {
  it('counts per class, padding a short histogram and dropping counts past the classes', () => {
    const view = datasetView(
      record('mnist'),
      { name: 'mnist', devices: { active: 1, enrolled: 2 }, examples: 4, labels: [1, 3] },
      2,
    )
    expect(view).toMatchObject({
      name: 'mnist',
      labels: [1, 3, 0, 0, 0, 0, 0, 0, 0, 0],
      devices: { active: 1, enrolled: 2 },
      tasks: 2,
      heldOut: null,
      updatedAt: '1970-01-01T00:00:01.000Z',
    })
    expect(datasetView(record('mnist'), undefined, 0).devices).toEqual({ active: 0, enrolled: 0 })
  })

  it('lists declared datasets by name, then undeclared names; q searches name, words and tags', () => {
    const records = [
      record('shoes', { description: 'Sneakers and boots', tags: ['Retail'] }),
      record('digits'),
    ]
    const summaries = [
      { name: 'shoes', devices: { active: 1, enrolled: 1 }, examples: 2, labels: [2] },
      { name: 'shoebox', devices: { active: 0, enrolled: 1 }, examples: 0, labels: [] },
    ]
    const names = (q?: string) =>
      datasetListing(records, summaries, () => 0, q).map((d) => [d.name, d.declared])
    expect(names()).toEqual([
      ['digits', true],
      ['shoes', true],
      ['shoebox', false],
    ])
    expect(names('SHOE')).toEqual([
      ['shoes', true],
      ['shoebox', false],
    ])
    expect(names('boots')).toEqual([['shoes', true]])
    expect(names('retail')).toEqual([['shoes', true]])
    expect(names(' demo ')).toEqual([['digits', true]])
    expect(names('nothing')).toEqual([])
  })
})
