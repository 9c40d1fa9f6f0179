// What the simulation benchmarks drive: the real scheduler on a virtual clock, PGlite in memory,
// blobs in a temporary folder, held-out evaluation on the given examples, seeded draws.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Examples, mulberry32 } from '../shared/data/index.ts'
import { fileBlobStore } from '../server/blobs/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { heldOutEvaluator } from '../server/evaluation/index.ts'
import { createEventBus } from '../server/events/index.ts'
import { createMetrics } from '../server/metrics/index.ts'
import { createModelRegistry } from '../server/models/index.ts'
import { createScheduler } from '../server/rounds/scheduler.ts'
import { pgliteStore } from '../server/store/index.ts'

export async function virtualScheduler(options: {
  /** Held-out MNIST examples. */
  test: Examples
  seed: number
  retry: { minSeconds: number; maxSeconds: number }
}) {
  const dir = await mkdtemp(join(tmpdir(), 'pollen-bench-'))
  const clock = createVirtualClock()
  const store = await pgliteStore('memory://')
  const models = createModelRegistry({ blobs: fileBlobStore(dir) })
  const events = createEventBus()
  const scheduler = createScheduler({
    store,
    models,
    evaluator: heldOutEvaluator({ heldOut: new Map([['mnist', options.test]]) }),
    clock,
    events,
    metrics: createMetrics(),
    retry: options.retry,
    random: mulberry32(options.seed),
  })
  await scheduler.start()
  return {
    clock,
    store,
    models,
    events,
    scheduler,
    close: async () => {
      await scheduler.stop()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
