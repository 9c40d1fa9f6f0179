// Light stand-ins for the round modules' unit tests: a store that records its writes, a task.
import { TaskSpecSchema, type TaskSpecInput } from '../../shared/protocol/index.ts'
import { createVirtualClock } from '../clock/index.ts'
import { createEventBus, type StampedEvent } from '../events/index.ts'
import { createMetrics } from '../metrics/index.ts'
import type { ModelInfo, ModelRegistry } from '../models/index.ts'
import type { Store, TaskRecord } from '../store/index.ts'
import { strategyFor } from '../strategy/index.ts'
import { createCore, type LiveTask, type RoundPolicy } from './live.ts'

/** A two-weight model. */
export const INFO: ModelInfo = {
  spec: { preset: 'mnist-2nn' },
  weightSpec: [{ name: 'w', shape: [2] }],
  parameters: 2,
  updateSpec: [{ name: 'w', shape: [2] }],
  trainableParameters: 2,
  payloadBytes: 8,
}

/**
 * A core over a store that records the calls made to it, in order (`writes`: their names), and
 * answers each with `answers`' method of that name where there is one.
 */
export function fakeCore(
  overrides: { answers?: Partial<Store>; models?: ModelRegistry; log?: (m: string) => void } = {},
) {
  const writes: string[] = []
  const calls: { name: string; args: unknown[] }[] = []
  const answers = overrides.answers ?? {}
  const store = new Proxy({} as Store, {
    get:
      (_, name) =>
      (...args: unknown[]) => {
        writes.push(String(name))
        calls.push({ name: String(name), args })
        const answer = answers[name as keyof Store] as ((...a: unknown[]) => unknown) | undefined
        if (answer) return answer(...args)
        if (name === 'getAssignment') return Promise.resolve(undefined)
        if (name === 'listDevices' || name === 'listRounds') return Promise.resolve([])
        return Promise.resolve(args.length > 0 ? undefined : [])
      },
  })
  const clock = createVirtualClock(1_000_000)
  const events = createEventBus()
  const published: StampedEvent['event'][] = []
  events.subscribe((e) => published.push(e.event))
  const core = createCore(
    {
      store,
      models: overrides.models ?? ({} as never),
      evaluator: { evaluate: () => Promise.resolve(null) },
      clock,
      events,
      metrics: createMetrics(),
      ...(overrides.log ? { log: overrides.log } : {}),
    },
    new AbortController().signal,
  )
  return { core, clock, writes, calls, published }
}

export function taskRecord(spec: Partial<TaskSpecInput> = {}): TaskRecord {
  return {
    id: 't1',
    spec: TaskSpecSchema.parse({
      name: 'unit',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      ...spec,
    }),
    status: 'running',
    modelHash: 'h0',
    round: 0,
    committedRounds: 0,
    createdAt: 0,
    updatedAt: 0,
    error: null,
    optimizerState: null,
    privacySpent: null,
    stoppedReason: null,
  }
}

/** A live task under `policy`, with a plain FedAvg strategy, not yet in the core's tasks. */
export function liveTask(record: TaskRecord, policy: RoundPolicy): LiveTask {
  return {
    record,
    info: INFO,
    population: 0,
    secureRounds: new Map(),
    strategy: strategyFor(record.spec.aggregation),
    policy,
    open: undefined,
    bounds: null,
    queue: Promise.resolve(),
  }
}
