import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../../shared/protocol/index.ts'
import { STORES, type ModelRecord } from './index.ts'
import { indexedDbModels, MODELS_KEPT, modelsToDrop, storeModel } from './models.ts'
import { testDatabases } from './testing.ts'
import { baseKey } from '../../device/models.ts'

const { open: fresh } = testDatabases('pollen-models-test')

const model = (hash: string, storedAt: number, extra: Partial<ModelRecord> = {}): ModelRecord => ({
  hash,
  bytes: new ArrayBuffer(4),
  taskId: 't1',
  storedAt,
  ...extra,
})
const tried = (hash: string, taskId: string, storedAt: number) =>
  model(hash, storedAt, { taskId, taskName: taskId, spec: { preset: 'mnist-2nn' } })

describe('the retention policy of the models store', () => {
  it(`keeps the ${MODELS_KEPT} newest`, () => {
    const models = [1, 2, 3, 4, 5].map((n) => model(`m${n}`, n))
    expect(modelsToDrop(models, { needed: new Set(), latest: 'm5' }).sort()).toEqual(['m1', 'm2'])
  })

  it(`keeps the ${MODELS_KEPT} newest bases apart from the models`, () => {
    const bases = [1, 2, 3, 4].map((i) => model(baseKey(`t${i}`), 10 + i))
    const models = [1, 2, 3].map((i) => model(`m${i}`, i))
    expect(modelsToDrop([...bases, ...models], { needed: new Set(), latest: 'm3' })).toEqual([
      baseKey('t1'),
    ])
  })

  it('keeps a model a checkpoint resumes from, however old', () => {
    const models = [1, 2, 3, 4, 5].map((n) => model(`m${n}`, n))
    expect(modelsToDrop(models, { needed: new Set(['m1']), latest: 'm5' })).toEqual(['m2'])
  })

  it('keeps one model per task for trying: the newest; the older are superseded', () => {
    const models = [tried('a1', 'a', 1), tried('b1', 'b', 2), tried('a2', 'a', 3)]
    expect(modelsToDrop(models, { needed: new Set(), latest: 'a2' })).toEqual(['a1'])
  })

  it('counts the model just stored as the newest, whatever its time', () => {
    const models = [tried('a1', 'a', 5), tried('a2', 'a', 1)]
    expect(modelsToDrop(models, { needed: new Set(), latest: 'a2' })).toEqual(['a1'])
  })
})

const assignment = (hash: string): Assignment => ({
  type: 'assignment',
  taskId: 't1',
  round: 1,
  dataset: 'mnist',
  model: { spec: { preset: 'mnist-2nn' }, hash, url: `/api/v1/models/${hash}` },
  plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
  deadline: new Date(10_000).toISOString(),
  uploadUrl: '/u',
})

describe('the models store in IndexedDB', () => {
  it('answers by hash what training stored, and applies the policy on every store', async () => {
    const db = await fresh()
    let clock = 0
    const store = indexedDbModels(db, () => ++clock)
    expect(await store.get('m1')).toBeUndefined()
    await store.put('m1', new Uint8Array([1, 2, 3]), 't1')
    expect(Array.from((await store.get('m1'))!)).toEqual([1, 2, 3])
    // A checkpoint resumes from m1: it outlives the newer ones.
    await db.put(STORES.checkpoints, {
      taskId: 't1',
      taskName: 'digits',
      assignment: assignment('m1'),
      exampleCount: 1,
      checkpoint: {
        step: 1,
        totalSteps: 2,
        seed: 1,
        weights: [],
        optimizer: [],
        examples: 1,
        lossSum: 1,
        lossCount: 1,
      },
      backend: 'cpu',
      startedAt: 1,
      savedAt: 1,
    })
    for (const hash of ['m2', 'm3', 'm4', 'm5']) await store.put(hash, new Uint8Array(1), 't1')
    expect((await db.getAllKeys(STORES.models)).sort()).toEqual(['m1', 'm3', 'm4', 'm5'])
  })

  it('keeps the one model a task is tried with, and the models training stored beside it', async () => {
    const db = await fresh()
    await indexedDbModels(db, () => 1).put('m1', new Uint8Array(1), 'a')
    await storeModel(db, tried('a1', 'a', 2))
    await storeModel(db, tried('b1', 'b', 3))
    await storeModel(db, tried('a2', 'a', 4))
    expect((await db.getAllKeys(STORES.models)).sort()).toEqual(['a2', 'b1', 'm1'])
  })
})
