import { describe, expect, it } from 'vitest'
import { STORES } from '../storage/index.ts'
import { createConsentStore } from '../tasks/consent.ts'
import { phoneCheckpoints, resumedRound, secureRecord, unfinishedRecord } from './round.ts'
import { assignmentFor, freshDb, taskView } from './testing.ts'

const round = {
  assignment: assignmentFor('t1'),
  taskName: 'digits',
  backend: 'wasm' as const,
  startedAt: 5,
  exampleCount: 200,
}
const checkpoint = {
  step: 4,
  totalSteps: 20,
  seed: 1,
  weights: [],
  optimizer: [],
  examples: 40,
  lossSum: 1,
  lossCount: 40,
}

describe('the phone’s checkpoints of a round', () => {
  it('come every tenth of its steps, into IndexedDB, while the task is consented to', async () => {
    const db = await freshDb()
    await createConsentStore({ db }).join(taskView('t1'))
    // The model came after the round began: the checkpoint keeps what it cost.
    const downloading = { ...round }
    const checkpoints = phoneCheckpoints(db, downloading, () => 9)
    Object.assign(downloading, { bytesDown: 700, downloadEncoding: 'delta' })
    // 200 examples in batches of 10, one epoch: 20 steps, so every 5 (the least).
    expect(checkpoints.every).toBe(5)
    expect(checkpoints.resumeFrom).toBeUndefined()
    await checkpoints.save(checkpoint)
    const saved = await db.get(STORES.checkpoints, 't1')
    expect(saved).toMatchObject({
      taskName: 'digits',
      exampleCount: 200,
      savedAt: 9,
      backend: 'wasm',
      bytesDown: 700,
      downloadEncoding: 'delta',
    })
    expect(saved?.checkpoint.step).toBe(4)
    // Resumed after a reload: the same round, carrying on from that checkpoint.
    const resumed = resumedRound(saved!)
    expect(resumed).toMatchObject({
      taskName: 'digits',
      startedAt: 5,
      exampleCount: 200,
      bytesDown: 700,
      downloadEncoding: 'delta',
    })
    expect(
      unfinishedRecord(resumed, { examples: 0, steps: 0 }, { stopped: true }, 9),
    ).toMatchObject({ bytesDown: 700, downloadEncoding: 'delta' })
    expect(phoneCheckpoints(db, resumed).resumeFrom?.step).toBe(4)
    db.close()
  })
})

describe('the history of a round that ends on the phone', () => {
  it('for a secure round, says how it ended and what was sent', () => {
    const done = secureRecord(
      round,
      { examples: 200, steps: 20 },
      { answer: { type: 'accepted', round: 1, reported: 3 }, outcome: 'done', bytes: 1234 },
      50,
    )
    expect(done).toMatchObject({ taskId: 't1', round: 1, outcome: 'accepted', bytesSent: 1234 })
    expect(done.detail).toMatch(/^Securely aggregated/)
    const dropped = secureRecord(
      round,
      { examples: 0, steps: 0 },
      { answer: null, outcome: 'dropped', reason: 'too slow', bytes: 10 },
      50,
    )
    expect(dropped).toMatchObject({
      outcome: 'failed',
      detail: 'Secure aggregation dropped: too slow.',
    })
  })

  it('for one stopped, left behind, or failed, says which', () => {
    const work = { examples: 0, steps: 0 }
    expect(unfinishedRecord(round, work, { stopped: true }, 9)).toMatchObject({
      outcome: 'stopped',
      bytesSent: 0,
      bytesDown: 0, // no download told: the model was held
      finishedAt: 9,
      detail: expect.stringMatching(/^Stopped/) as unknown,
    })
    expect(unfinishedRecord(round, work, { stopped: true, leftBehind: 'too slow' }, 9).detail).toBe(
      'The secure round went on without this phone: too slow.',
    )
    expect(unfinishedRecord(round, work, { stopped: false }, 9)).toMatchObject({
      outcome: 'failed',
    })
  })
})
