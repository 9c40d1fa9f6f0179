// A scheduler on virtual time over an in-memory store, for the scheduler's own tests.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { UpdateMetadata } from '../../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../../shared/tensors/index.ts'
import { useBackend } from '../../shared/tf/index.ts'
import { fileBlobStore } from '../blobs/index.ts'
import { createVirtualClock } from '../clock/index.ts'
import { createEventBus } from '../events/index.ts'
import { createMetrics } from '../metrics/index.ts'
import { createModelRegistry } from '../models/index.ts'
import { type DeviceRecord, pgliteStore } from '../store/index.ts'
import { createScheduler, type SchedulerOptions } from './scheduler.ts'

export async function testScheduler(overrides: Partial<SchedulerOptions> = {}) {
  await useBackend('wasm')
  const clock = createVirtualClock(1_000_000)
  const store = await pgliteStore('memory://')
  const models = createModelRegistry({
    blobs: fileBlobStore(await mkdtemp(join(tmpdir(), 'pollen-sched-'))),
  })
  const scheduler = createScheduler({
    store,
    models,
    evaluator: { evaluate: () => Promise.resolve(null) },
    clock,
    events: createEventBus(),
    metrics: createMetrics(),
    retry: { minSeconds: 1, maxSeconds: 1000 },
    random: () => 0.5, // no jitter
    ...overrides,
  })
  await scheduler.start()
  /** Enrols a device with these ids, as the device API would. */
  async function enrol(...ids: string[]): Promise<DeviceRecord[]> {
    const enrolled: DeviceRecord[] = []
    for (const id of ids) {
      const device: DeviceRecord = {
        id,
        tokenHash: id,
        label: null,
        capabilities: null,
        datasets: [],
        enrolledAt: 0,
        lastSeenAt: 0,
      }
      await store.insertDevice(device)
      enrolled.push(device)
    }
    return enrolled
  }
  /** What a device uploads for the mnist-2nn preset: an all-zero delta, with `metadata`. */
  function zeroUpdate(metadata: UpdateMetadata): Uint8Array {
    const tensors = models.info({ preset: 'mnist-2nn' }).weightSpec.map(({ name, shape }) => ({
      name,
      shape,
      dtype: 'float32' as const,
      data: new Float32Array(tensorSize(shape)),
    }))
    return encodeContainer({ tensors, metadata })
  }
  async function close() {
    await scheduler.stop()
    await store.close()
  }
  return { clock, store, models, scheduler, enrol, zeroUpdate, close }
}
