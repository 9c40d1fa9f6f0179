import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TaskSpecSchema, type CheckinRequest } from '../../shared/protocol/index.ts'
import type { VirtualClock } from '../clock/index.ts'
import type { DeviceRecord } from '../store/index.ts'
import { fedAvg } from '../strategy/index.ts'
import type { Scheduler } from './scheduler.ts'
import { withStatus } from '../api/upload-status.ts'
import { testScheduler } from './testing.ts'

const checkin: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 4, labels: [4] }],
}

describe('scheduler pace steering', () => {
  let t: Awaited<ReturnType<typeof testScheduler>>
  let scheduler: Scheduler
  let clock: VirtualClock
  let devices: DeviceRecord[]

  beforeAll(async () => {
    t = await testScheduler({ strategy: fedAvg() })
    ;({ scheduler, clock } = t)
    devices = await t.enrol('a', 'b', 'c')
  })
  afterAll(() => t.close())

  it('tells refused devices to come back about when the round should close', async () => {
    const task = await scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'pace',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        rounds: {
          total: 2,
          clientsPerRound: 2,
          minReports: 2,
          overSelect: 1,
          deadlineSeconds: 100,
        },
      }),
    )
    const [a, b, c] = devices as [DeviceRecord, DeviceRecord, DeviceRecord]
    expect((await scheduler.checkin(a, checkin)).type).toBe('assignment')
    expect((await scheduler.checkin(b, checkin)).type).toBe('assignment')
    // Nothing reported yet: the round is expected to run to its deadline, 100 s away.
    expect(await scheduler.checkin(c, checkin)).toMatchObject({
      type: 'retry',
      retryAfterSeconds: 100,
    })

    // One of two reports after 20 s: at that rate the round closes at 40 s, 20 s from now.
    clock.advance(20_000)
    const body = t.zeroUpdate({ examples: 4, steps: 1, baseModel: task.model.hash })
    const accepted = withStatus(
      await scheduler.upload({
        device: a,
        taskId: task.id,
        round: 1,
        readBody: () => Promise.resolve(body),
      }),
    )
    expect(accepted).toMatchObject({ status: 200, answer: { type: 'accepted', reported: 1 } })
    expect(await scheduler.checkin(c, checkin)).toMatchObject({
      type: 'retry',
      retryAfterSeconds: 20,
    })
    // A device already in the round is handed its assignment again, not a second one.
    expect(await scheduler.checkin(b, checkin)).toMatchObject({ type: 'assignment', round: 1 })
    // No further report by 39.9 s: the estimate stretches with the wait (close at 79.8 s).
    clock.advance(19_900)
    expect(await scheduler.checkin(c, checkin)).toMatchObject({
      type: 'retry',
      retryAfterSeconds: 39.9,
    })
    // Never past the deadline, never below minSeconds.
    clock.advance(60_000)
    expect(await scheduler.checkin(c, checkin)).toMatchObject({
      type: 'retry',
      retryAfterSeconds: 1,
    })
  })
})
