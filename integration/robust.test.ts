import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../data/mnist-file.ts'
import { createDevice, localTrainer, type Trainer } from '../client/device/index.ts'
import { simulate } from '../client/simulator/simulate.ts'
import { mulberry32, shardIid } from '../shared/data/index.ts'
import type { TaskSpecInput, TaskView } from '../shared/protocol/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

/** Trains as asked, then uploads noise in [−10⁶, 10⁶] in place of its delta. */
function garbageTrainer(trainer: Trainer, seed = 7): Trainer {
  const random = mulberry32(seed)
  return {
    async train(job) {
      const outcome = await trainer.train(job)
      const delta = outcome.delta.map((t) => ({
        ...t,
        data: t.data.map(() => (2 * random() - 1) * 1e6),
      }))
      return { ...outcome, delta }
    },
  }
}

const base = {
  name: 'robust',
  purpose: 'Train a digit reader that one hostile phone cannot wreck.',
  model: { preset: 'mnist-2nn' },
} satisfies Partial<TaskSpecInput>

describe('robust aggregation over HTTP', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  const create = (spec: object) =>
    running.admin.call('/api/v1/tasks', { method: 'POST', body: JSON.stringify(spec) })
  const refusal = async (response: Response) => {
    const { error } = (await response.json()) as {
      error: { code: string; issues: { field: string; message: string }[] }
    }
    return { status: response.status, code: error.code, issues: error.issues }
  }

  it('refuses a robust rule where the coordinator cannot see each update, saying why', async () => {
    const secure = await refusal(
      await create({
        ...base,
        aggregation: { rule: 'median' },
        secureAggregation: true,
        rounds: { clientsPerRound: 5, minReports: 3 },
      }),
    )
    expect(secure).toMatchObject({ status: 400, code: 'invalid_request' })
    expect(secure.issues).toEqual([
      {
        field: 'aggregation.rule',
        message:
          '"median" needs each update in the clear: with secureAggregation the coordinator sees only the sum of the updates, never one alone; use "mean"',
      },
    ])
    const dp = await refusal(
      await create({
        ...base,
        aggregation: { rule: 'multi-krum' },
        privacy: { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10 },
        rounds: { clientsPerRound: 5, minReports: 5 },
      }),
    )
    expect(dp.issues.map((i) => i.field)).toEqual(['aggregation.rule'])
    expect(dp.issues[0]?.message).toMatch(/with privacy the accountant counts on the noised sum/)
    expect(await running.admin.call('/api/v1/tasks').then((r) => r.json())).toEqual({ tasks: [] })
  })

  it('refuses a rule with too few reports per round for it, and a weighting it ignores', async () => {
    const krum = await refusal(
      await create({
        ...base,
        aggregation: { rule: 'multi-krum', byzantine: 2 },
        rounds: { clientsPerRound: 8, minReports: 6 },
      }),
    )
    expect(krum.issues).toEqual([
      {
        field: 'aggregation.byzantine',
        message:
          '"multi-krum" needs rounds.minReports of at least 7, not 6: with f = 2 it needs n ≥ 2f + 3 reports to score each by its n − f − 2 nearest',
      },
    ])
    const buffer = await refusal(
      await create({
        ...base,
        mode: 'async',
        aggregation: { rule: 'multi-krum' },
        async: { bufferSize: 4 },
      }),
    )
    expect(buffer.issues.map((i) => i.field)).toEqual(['aggregation.byzantine'])
    expect(buffer.issues[0]?.message).toMatch(/needs async\.bufferSize of at least 5, not 4/)
    const trimmed = await refusal(
      await create({ ...base, aggregation: { rule: 'trimmed-mean', trim: 0.1 } }), // 5 reports
    )
    expect(trimmed.issues).toEqual([
      {
        field: 'aggregation.trim',
        message:
          '"trimmed-mean" needs rounds.minReports of at least 10, not 5: ⌊trim × 5⌋ cuts no report from either end, so the mean is not trimmed',
      },
    ])
    const weighted = await refusal(
      await create({
        ...base,
        aggregation: { rule: 'median', weighting: 'examples' },
      }),
    )
    expect(weighted.issues).toEqual([
      {
        field: 'aggregation.weighting',
        message:
          'must be "uniform" with rule "median": it counts each report once, whatever its examples',
      },
    ])
    const huge = await refusal(
      await create({
        ...base,
        aggregation: { rule: 'median' },
        rounds: { clientsPerRound: 1400, minReports: 3 },
      }),
    )
    expect(huge).toMatchObject({ status: 400, issues: [{ field: 'rounds.clientsPerRound' }] })
    expect(huge.issues[0]?.message).toMatch(
      /1400 of 199210 weights are 1064 MiB, over the 1024 MiB/,
    )
    const bounds = await refusal(
      await create({
        ...base,
        aggregation: { rule: 'trimmed-mean', trim: 0.5, byzantine: -1, krumSelect: 1.5 },
      }),
    )
    expect(bounds.issues.map((i) => i.field)).toEqual(
      expect.arrayContaining([
        'aggregation.trim',
        'aggregation.byzantine',
        'aggregation.krumSelect',
      ]),
    )
    expect(await running.admin.call('/api/v1/tasks').then((r) => r.json())).toEqual({ tasks: [] })
  })

  it("takes a trimmed mean with Flower's default cut, 0.2, over the default 5 reports", async () => {
    const response = await create({ ...base, aggregation: { rule: 'trimmed-mean' } })
    expect(response.status).toBe(201)
    const task = (await response.json()) as TaskView
    expect(task.aggregation).toMatchObject({
      rule: 'trimmed-mean',
      trim: 0.2,
      weighting: 'uniform',
    })
    expect(task.rounds).toMatchObject({ clientsPerRound: 10, minReports: 5 })
    // Out of the way of the next test's devices.
    const deleted = await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
  })

  it('a median task learns while one device of four uploads noise scaled by 10⁶', async () => {
    const task = await running.admin.createTask({
      ...base,
      aggregation: { rule: 'median' },
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      rounds: { total: 3, clientsPerRound: 4, minReports: 4, overSelect: 1, deadlineSeconds: 300 },
    })
    expect(task.aggregation).toMatchObject({ rule: 'median', weighting: 'uniform' })

    // Below what a median needs: refused, and the task keeps its settings.
    const patch = await refusal(
      await running.admin.call(`/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ rounds: { minReports: 2 } }),
      }),
    )
    expect(patch).toMatchObject({ status: 400, issues: [{ field: 'rounds.minReports' }] })
    // More reports a round than a round may hold (1,400 of mnist-2nn's 199,210 weights: 1,064 MiB).
    const big = await refusal(
      await running.admin.call(`/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ rounds: { clientsPerRound: 1400 } }),
      }),
    )
    expect(big).toMatchObject({ status: 400, issues: [{ field: 'rounds.clientsPerRound' }] })
    expect((await running.admin.task(task.id)).rounds).toMatchObject({
      minReports: 4,
      clientsPerRound: 4,
    })

    const { train } = await loadMnist()
    // Half the examples for three honest devices, half for the hostile one (it trains, then lies).
    const [honest, hostile] = shardIid(train, 2, 3)
    const trainer = localTrainer()
    const attacker = createDevice({
      server: running.url,
      trainer: garbageTrainer(trainer),
      examples: hostile!,
      backend: 'wasm',
      label: 'garbage',
    })
    const [summary] = await Promise.all([
      simulate({ server: running.url, clients: 3, partition: 'iid', examples: honest!, trainer }),
      attacker.run(),
    ])
    expect(summary).toMatchObject({ accepted: 9, rejected: 0 })

    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    const rounds = await running.admin.rounds(task.id)
    expect(rounds.map((r) => [r.status, r.reported])).toEqual([
      ['committed', 4],
      ['committed', 4],
      ['committed', 4],
    ])
    const accuracy = rounds.map((r) => r.accuracy!)
    // A mean of these updates would sit near 0.1 (chance) from round 1 on.
    expect(accuracy[0]).toBeGreaterThan(0.7)
    expect(accuracy[2]).toBeGreaterThan(accuracy[0]!)
    expect(rounds.at(-1)!.model).toBe(done.model.hash)
  })
})
