import { describe, expect, it } from 'vitest'
import { type DatasetSpec, MNIST_DATASET } from '../../../shared/protocol/datasets.ts'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { triable, tryChoices, type ChoiceSources } from './choices.ts'

const task = (id: string, status: DeviceTaskView['status'] = 'running') =>
  ({ id, name: `task ${id}`, status, dataset: 'mnist', datasetSpec: null }) as DeviceTaskView

const onDataset = (id: string, datasetSpec: DatasetSpec) =>
  ({ ...task(id), dataset: datasetSpec.name, datasetSpec }) as DeviceTaskView

const sources = (overrides: Partial<ChoiceSources>): ChoiceSources => ({
  tasks: () => Promise.resolve([]),
  joined: () => Promise.resolve(new Set<string>()),
  stored: () => Promise.resolve([]),
  ...overrides,
})

describe('triable', () => {
  it('keeps the tasks on offer and the ended ones this phone joined', () => {
    const tasks = [task('a'), task('b', 'completed'), task('c', 'failed'), task('d', 'paused')]
    expect(triable(tasks, new Set(['b'])).map((t) => t.id)).toEqual(['a', 'b', 'd'])
  })

  it('keeps only tasks that read digits: Try draws one', () => {
    const digits = { ...MNIST_DATASET, name: 'my-digits' }
    const photos = {
      ...MNIST_DATASET,
      name: 'photos',
      features: { kind: 'image', height: 32, width: 32, channels: 3 },
    } satisfies DatasetSpec
    const fashion = { ...MNIST_DATASET, name: 'fashion', classes: [...'abcdefghij'] }
    const tasks = [
      onDataset('d', digits),
      onDataset('p', photos),
      onDataset('f', fashion),
      { ...task('old'), dataset: 'crops' },
      task('m'),
    ]
    expect(triable(tasks, new Set()).map((t) => t.id)).toEqual(['d', 'm'])
  })
})

describe('tryChoices', () => {
  it('offers the coordinator’s tasks, an ended one by its final model', async () => {
    const choices = await tryChoices(
      sources({
        tasks: () => Promise.resolve([task('a'), task('b', 'completed'), task('c', 'completed')]),
        joined: () => Promise.resolve(new Set(['b'])),
      }),
    )
    expect(choices.offered).toEqual([
      { id: 'a', name: 'task a' },
      { id: 'b', name: 'task b (final model)' },
    ])
    expect([...choices.views.keys()]).toEqual(['a', 'b'])
    expect(choices.note).toBe('')
  })

  it('says when the coordinator offers nothing', async () => {
    const choices = await tryChoices(sources({}))
    expect(choices.offered).toEqual([])
    expect(choices.note).toMatch(/^The coordinator offers no task that reads digits right now/)
  })

  it('offline, offers the models this phone kept, or says there are none', async () => {
    const offline = () => Promise.reject(new Error('offline'))
    const kept = await tryChoices(
      sources({
        tasks: offline,
        stored: () => Promise.resolve([{ taskId: 'k', taskName: 'Kept' }]),
      }),
    )
    expect(kept.offered).toEqual([{ id: 'k', name: 'Kept' }])
    expect(kept.views.size).toBe(0)
    expect(kept.note).toBe('Offline: only the models this phone kept can be tried.')
    const none = await tryChoices(sources({ tasks: offline }))
    expect(none.note).toMatch(/^There is no connection to the coordinator/)
  })
})
