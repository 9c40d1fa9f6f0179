import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TaskSpecSchema, type CheckinRequest } from '../../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../../shared/tensors/index.ts'
import { useBackend } from '../../shared/tf/index.ts'
import { fileBlobStore } from '../blobs/index.ts'
import { createVirtualClock } from '../clock/index.ts'
import { createEventBus } from '../events/index.ts'
import { createMetrics } from '../metrics/index.ts'
import { createModelRegistry } from '../models/index.ts'
import { pgliteStore, type DeviceRecord, type Store } from '../store/index.ts'
import { fedAvg } from '../strategy/index.ts'
import { createScheduler, type Scheduler } from './scheduler.ts'

const checkin: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 4, labels: [4] }],
}

describe('scheduler pace steering', () => {
  const clock = createVirtualClock(1_000_000)
  let store: Store
  let scheduler: Scheduler
  let models: ReturnType<typeof createModelRegistry>
  const devices: DeviceRecord[] = []

  beforeAll(async () => {
    await useBackend('wasm')
    store = await pgliteStore('memory://')
    models = createModelRegistry({
      blobs: fileBlobStore(await mkdtemp(join(tmpdir(), 'pollen-sched-'))),
    })
    scheduler = createScheduler({
      store,
      models,
      evaluator: { evaluate: () => Promise.resolve(null) },
      strategy: fedAvg(),
      clock,
      events: createEventBus(),
      metrics: createMetrics(),
      retry: { minSeconds: 1, maxSeconds: 1000 },
      random: () => 0.5, // no jitter
    })
    await scheduler.start()
    for (const id of ['a', 'b', 'c']) {
      const device = {
        id,
        tokenHash: id,
        label: null,
        capabilities: null,
        datasets: [],
        enrolledAt: 0,
        lastSeenAt: 0,
      }
      await store.insertDevice(device)
      devices.push(device)
    }
  })
  afterAll(async () => {
    await scheduler.stop()
    await store.close()
  })

  it('tells refused devices to come back about when the round should close', async () => {
    const task = await scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'pace',
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
    const spec = models.info({ preset: 'mnist-2nn' }).weightSpec
    const body = encodeContainer({
      tensors: spec.map(({ name, shape }) => ({
        name,
        shape,
        dtype: 'float32',
        data: new Float32Array(tensorSize(shape)),
      })),
      metadata: { examples: 4, steps: 1, baseModel: task.model.hash },
    })
    const accepted = await scheduler.upload({
      device: a,
      taskId: task.id,
      round: 1,
      readBody: () => Promise.resolve(body),
    })
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
