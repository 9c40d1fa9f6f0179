import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../../shared/protocol/index.ts'
import { STORES } from '../storage/index.ts'
import { createConsentStore } from '../tasks/index.ts'
import { saveCheckpoint } from './checkpoints.ts'
import { testDatabases } from '../storage/testing.ts'

const assignment: Assignment = {
  type: 'assignment',
  taskId: 't1',
  round: 1,
  dataset: 'mnist',
  model: { spec: { preset: 'mnist-2nn' }, hash: 'ab'.repeat(32), url: '/m' },
  plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
  deadline: new Date(10_000).toISOString(),
  uploadUrl: '/u',
}

const record = {
  taskId: 't1',
  taskName: 'digits',
  assignment,
  exampleCount: 12,
  checkpoint: {
    step: 2,
    totalSteps: 4,
    seed: 1,
    weights: [],
    optimizer: [],
    examples: 20,
    lossSum: 2,
    lossCount: 20,
  },
  backend: 'wasm' as const,
  startedAt: 1,
  savedAt: 1,
}

const { open: fresh } = testDatabases('pollen-checkpoints-test')

describe('saving a checkpoint', () => {
  it('stores it while the task is consented to, paused too, and not once it is withdrawn', async () => {
    const db = await fresh()
    const consents = createConsentStore({ db })
    await consents.join({
      id: 't1',
      name: 'digits',
      purpose: 'read digits',
      datasetSpec: null,
      status: 'running',
      endedAt: null,
      mode: 'sync',
      async: null,
      accuracy: null,
      dataset: 'mnist',
      model: { preset: 'mnist-2nn', parameters: 199_210 },
      updateBytes: 796_840,
      rounds: { total: 3, committed: 0, deadlineSeconds: 120 },
      privacy: { differentialPrivacy: null, secureAggregation: false },
    })
    expect(await saveCheckpoint(db, record)).toBe(true)
    await consents.pause('t1')
    expect(await saveCheckpoint(db, { ...record, savedAt: 2 })).toBe(true)
    expect((await db.get(STORES.checkpoints, 't1'))?.savedAt).toBe(2)
    // A checkpoint the worker sent just before the owner withdrew arrives after: it is dropped.
    await consents.withdraw('t1')
    expect(await db.count(STORES.checkpoints)).toBe(0)
    expect(await saveCheckpoint(db, { ...record, savedAt: 3 })).toBe(false)
    expect(await db.count(STORES.checkpoints)).toBe(0)
  })
})
