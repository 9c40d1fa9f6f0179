import { describe, expect, it } from 'vitest'
import { type DatasetSpec, MNIST_DATASET } from '../../../shared/protocol/datasets.ts'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { datasetsOffered } from './offered.ts'

const spec = (name: string): DatasetSpec => ({ ...MNIST_DATASET, name })
const task = (status: DeviceTaskView['status'], datasetSpec: DatasetSpec | null) => ({
  status,
  datasetSpec,
})

describe('datasetsOffered', () => {
  it('lists the datasets of the tasks not ended, once each, in order', () => {
    expect(
      datasetsOffered([
        task('running', spec('b')),
        task('completed', spec('ended-only')),
        task('paused', spec('a')),
        task('failed', spec('gone')),
        task('running', spec('b')),
        // A task whose dataset is no longer declared says nothing of its examples.
        task('running', null),
      ]).map((s) => s.name),
    ).toEqual(['b', 'a'])
  })
})
