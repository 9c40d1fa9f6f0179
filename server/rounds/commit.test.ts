import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Assignment,
  type CheckinRequest,
  type RoundView,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import type { HeldOutResult } from '../evaluation/index.ts'
import { createEventBus } from '../events/index.ts'
import { updatedPart, withFrozen } from './commit.ts'
import { testScheduler } from './testing.ts'

const request: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 4, labels: [4] }],
}

describe('held-out accuracy per label in the rounds', () => {
  const events = createEventBus()
  /** What the fake evaluator answers next, one per evaluation. */
  const answers: (HeldOutResult | null)[] = []
  const evaluated: string[] = []
  let t: Awaited<ReturnType<typeof testScheduler>>

  beforeAll(async () => {
    t = await testScheduler({
      events,
      evaluator: {
        evaluate: (_spec, _weights, dataset) => {
          evaluated.push(dataset)
          return Promise.resolve(answers.shift() ?? null)
        },
      },
    })
  })
  afterAll(() => t.close())

  /** One device checks in and reports; the round closes on its target. */
  async function roundWithOneReport(taskId: string, deviceId: string) {
    const closed = new Promise<RoundView>((resolve) => {
      const stop = events.subscribe(({ event }) => {
        if (event.type !== 'round.closed' || event.taskId !== taskId) return
        stop()
        resolve(event.round)
      })
    })
    const [device] = await t.enrol(deviceId)
    const { round, model } = (await t.scheduler.checkin(device!, request)) as Assignment
    const body = t.zeroUpdate({ examples: 4, steps: 1, baseModel: model.hash })
    const answer = await t.scheduler.upload({
      device: device!,
      taskId,
      round,
      readBody: () => Promise.resolve(body),
    })
    expect(answer.answer.type).toBe('accepted')
    return closed
  }

  it('carries what the evaluator measured per label onto the committed round', async () => {
    const task = await t.scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'per label',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        rounds: { total: 2, clientsPerRound: 1, minReports: 1, overSelect: 1 },
      }),
    )
    const confusion = [
      [4, 0, 0],
      [3, 1, 0],
      [0, 0, 0],
    ]
    answers.push({
      accuracy: 0.5,
      loss: 1.25,
      examples: 8,
      perLabelAccuracy: [1, 0.25, null],
      confusion,
    })
    const first = await roundWithOneReport(task.id, 'p1')
    expect(first).toMatchObject({
      status: 'committed',
      accuracy: 0.5,
      loss: 1.25,
      accuracyByLabel: [1, 0.25, null],
      confusion,
    })
    // The second round's evaluation finds nothing to measure: null, not the first round's.
    const second = await roundWithOneReport(task.id, 'p2')
    expect(second).toMatchObject({
      status: 'committed',
      accuracy: null,
      accuracyByLabel: null,
      confusion: null,
    })
    expect(evaluated).toEqual(['mnist', 'mnist'])

    const stored = await t.scheduler.listRounds(task.id)
    expect(stored.map((r) => r.accuracyByLabel)).toEqual([[1, 0.25, null], null])
    expect(stored.map((r) => r.confusion)).toEqual([confusion, null])
    await t.scheduler.deleteTask(task.id)
  })
})

describe('a committed model with frozen layers', () => {
  const t = (name: string, ...values: number[]) => ({
    name,
    shape: [values.length],
    dtype: 'float32' as const,
    data: Float32Array.from(values),
  })

  it('gives the strategy only what updates carry, and keeps the frozen weights as they were', () => {
    const frozen = t('features/kernel', 0.1, -0.2)
    const global = [frozen, t('head/kernel', 1, 2), t('head/bias', 3)]
    const spec = [{ name: 'head/kernel' }, { name: 'head/bias' }]
    const part = updatedPart(global, spec)
    expect(part.map((w) => w.name)).toEqual(['head/kernel', 'head/bias'])
    const next = withFrozen(global, [t('head/kernel', 5, 6), t('head/bias', 7)])
    expect(next.map((w) => w.name)).toEqual(['features/kernel', 'head/kernel', 'head/bias'])
    expect(next[0]).toBe(frozen) // the very tensor: bit for bit
    expect(Array.from(next[1]!.data)).toEqual([5, 6])
    expect(() => updatedPart(global, [{ name: 'tail/bias' }])).toThrow(/lacks tail\/bias/)
  })
})
