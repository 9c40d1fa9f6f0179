import { describe, expect, it } from 'vitest'
import { assignmentFor, freshDb } from '../contribute/testing.ts'
import { STORES } from '../storage/index.ts'
import { pendingUploads } from './index.ts'
import { outboxDelivery } from './queue.ts'

describe('delivery through the outbox', () => {
  it('queues the update and drops the round’s checkpoint, in one go', async () => {
    const db = await freshDb()
    const assignment = assignmentFor('t1')
    await db.put(STORES.checkpoints, {
      taskId: 't1',
      taskName: 'digits',
      assignment,
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
      backend: 'wasm',
      startedAt: 1,
      savedAt: 1,
    })
    const delivery = outboxDelivery(
      db,
      {
        taskName: 'digits',
        backend: 'wasm',
        startedAt: 3,
        bytesDown: 5,
        downloadEncoding: 'float16',
      },
      () => 7,
    )
    const body = new Uint8Array([9, 8, 7, 6]).subarray(1, 3)
    const trained = { delta: [], examples: 20, steps: 2, loss: 1 }
    expect(await delivery.deliver({ assignment, body, codec: 'int8', trained })).toEqual({
      type: 'queued',
      bytes: 2,
    })
    const [queued] = await pendingUploads(db)
    expect(queued).toMatchObject({
      key: 't1/1',
      taskId: 't1',
      taskName: 'digits',
      round: 1,
      uploadUrl: assignment.uploadUrl,
      deadlineAt: Date.parse(assignment.deadline),
      examples: 20,
      steps: 2,
      codec: 'int8',
      backend: 'wasm',
      startedAt: 3,
      bytesDown: 5,
      downloadEncoding: 'float16',
      queuedAt: 7,
      attempts: 0,
      claimedUntil: 0,
    })
    expect(Array.from(new Uint8Array(queued!.body))).toEqual([8, 7])
    expect(await db.count(STORES.checkpoints)).toBe(0)
    db.close()
  })
})
