// The two wrecking attacks, over HTTP, on a small mnist-2nn task: one of three devices a
// round attacks in round 4. With the default bounds the task trains on; with normBound "off"
// the scaled update wrecks it, so the bound is what helps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../data/mnist-file.ts'
import { createDevice, localTrainer, type Trainer } from '../client/device/index.ts'
import { type Digits, subset } from '../shared/data/index.ts'
import type { RoundView, TaskSpecInput, UploadAnswer } from '../shared/protocol/index.ts'
import { startCoordinator, type Running } from './harness.ts'

const ATTACK_ROUND = 4
const ROUNDS = 5

/** What the attacker does to its honest training's outcome in the attack round. */
type Attack = Parameters<typeof attacking>[1]

/** The honest trainer, except that in the attack round `attack` rewrites what it returns. */
function attacking(
  trainer: Trainer,
  attack: (
    outcome: Awaited<ReturnType<Trainer['train']>>,
    global: Parameters<Trainer['train']>[0]['weights'],
  ) => Awaited<ReturnType<Trainer['train']>>,
  round: () => number,
): Trainer {
  return {
    async train(job) {
      const outcome = await trainer.train(job)
      return round() === ATTACK_ROUND ? attack(outcome, job.weights) : outcome
    },
  }
}

const scaled: Attack = (outcome) => ({
  ...outcome,
  delta: outcome.delta.map((t) => ({ ...t, data: t.data.map((v) => v * 1e6) })),
})
/** Pull the model to zero, claiming `examples` (the issue's: 2⁵³ − 1). */
const zeroing =
  (examples?: number): Attack =>
  (outcome, global) => ({
    ...outcome,
    ...(examples !== undefined ? { examples } : {}),
    delta: global.map((t) => ({ ...t, data: t.data.map((v) => -v) })),
  })

describe('one attacking device of three does not wreck a task under the default bounds', () => {
  let running: Running
  let train: Digits
  const trainer = localTrainer({ seed: () => 7 })
  beforeAll(async () => {
    running = await startCoordinator()
    train = (await loadMnist()).train
  })
  afterAll(() => running.close())

  /** Runs a 3-device task to its end; device 2 attacks in round 4, holding `attackerExamples`. */
  async function run(
    name: string,
    aggregation: TaskSpecInput['aggregation'],
    attack: Attack,
    attackerExamples = 600,
  ) {
    const task = await running.admin.createTask({
      name,
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      seed: 1,
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      // Two honest reports commit a round whose attacker was refused, at its deadline.
      rounds: {
        total: ROUNDS,
        clientsPerRound: 3,
        minReports: 2,
        overSelect: 1,
        deadlineSeconds: 4,
      },
      ...(aggregation ? { aggregation } : {}),
    })
    const answers: UploadAnswer[] = []
    const shards = [
      subset(train, range(0, 600)),
      subset(train, range(600, 1200)),
      subset(train, range(1200, 1200 + attackerExamples)),
    ]
    await Promise.all(
      shards.map((examples, i) => {
        let round = 0
        const device = createDevice({
          server: running.url,
          backend: 'wasm',
          examples,
          trainer: i === 2 ? attacking(trainer, attack, () => round) : trainer,
          onEvent: (event) => {
            if (event.type === 'assigned') round = event.round
            if (event.type === 'uploaded' && i === 2 && event.round === ATTACK_ROUND)
              answers.push(event.answer)
          },
        })
        return device.run()
      }),
    )
    const rounds = await running.admin.rounds(task.id)
    expect(rounds.map((r) => r.status)).toEqual(Array(ROUNDS).fill('committed'))
    return { rounds, attackAnswers: answers }
  }

  const accuracy = (rounds: RoundView[], n: number) => rounds[n - 1]!.accuracy!

  it('clips an update scaled by 10⁶; with normBound "off" the same update wrecks the model', async () => {
    const bounded = await run('scaled, default bounds', undefined, scaled)
    const before = accuracy(bounded.rounds, ATTACK_ROUND - 1)
    expect(before).toBeGreaterThan(0.6)
    expect(bounded.attackAnswers).toMatchObject([{ type: 'accepted' }])
    expect(accuracy(bounded.rounds, ATTACK_ROUND)).toBeGreaterThan(before - 0.1)
    expect(accuracy(bounded.rounds, ROUNDS)).toBeGreaterThan(before - 0.05)
    expect(bounded.rounds[ATTACK_ROUND - 1]!.updateBounds!.clipped).toBeGreaterThanOrEqual(1)

    const open = await run('scaled, no norm bound', { normBound: 'off' }, scaled)
    expect(accuracy(open.rounds, ATTACK_ROUND - 1)).toBeCloseTo(before, 1)
    expect(open.rounds[ATTACK_ROUND - 1]!.updateBounds).toMatchObject({ norm: null, clipped: 0 })
    expect(accuracy(open.rounds, ATTACK_ROUND)).toBeLessThan(0.3)
    // Honest rounds after it do not bring it back.
    expect(accuracy(open.rounds, ROUNDS)).toBeLessThan(0.3)
  })

  it('refuses examples = 2⁵³ − 1 from a device that declared 6,000, naming metadata.examples', async () => {
    const { rounds, attackAnswers } = await run(
      'inflated examples',
      undefined,
      zeroing(2 ** 53 - 1),
      6000,
    )
    expect(attackAnswers).toMatchObject([{ type: 'rejected', field: 'metadata.examples' }])
    expect(rounds[ATTACK_ROUND - 1]).toMatchObject({ reported: 2, rejected: 1, examples: 1200 })
    const before = accuracy(rounds, ATTACK_ROUND - 1)
    expect(before).toBeGreaterThan(0.6)
    expect(accuracy(rounds, ATTACK_ROUND)).toBeGreaterThan(before - 0.05)
    expect(accuracy(rounds, ROUNDS)).toBeGreaterThan(before - 0.05)
  })

  it('caps and clips a pull to zero claiming the 6,000 examples it declared', async () => {
    const { rounds, attackAnswers } = await run('declared examples', undefined, zeroing(), 6000)
    expect(attackAnswers).toMatchObject([{ type: 'accepted' }])
    const attacked = rounds[ATTACK_ROUND - 1]!
    // Weighed as 2 × 600 at most, not 6,000; and no farther than the honest updates go.
    expect(attacked.updateBounds).toMatchObject({ weight: 1200 })
    expect(attacked.updateBounds!.capped).toBeGreaterThanOrEqual(1)
    expect(attacked.updateBounds!.clipped).toBeGreaterThanOrEqual(1)
    const before = accuracy(rounds, ATTACK_ROUND - 1)
    expect(accuracy(rounds, ROUNDS)).toBeGreaterThan(before - 0.05)
  })
})

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)
