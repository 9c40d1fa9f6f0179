import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { computeEpsilon } from '../../shared/privacy/index.ts'
import {
  type Assignment,
  type CheckinRequest,
  type RoundView,
  type TaskSpecInput,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import { encodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import { createEventBus } from '../events/index.ts'
import { PollenError } from '../errors.ts'
import { testScheduler } from './testing.ts'

const request: CheckinRequest = {
  protocolVersion: 1,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 4, labels: [4] }],
}

const spec = (privacy: TaskSpecInput['privacy'], rounds = 3) =>
  TaskSpecSchema.parse({
    name: 'private',
    purpose: 'Train a digit reader; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: rounds, clientsPerRound: 2, minReports: 2, overSelect: 1 },
    privacy,
  })

const flat = (tensors: NamedTensor[]) => {
  const out: number[] = []
  for (const t of tensors) for (const v of t.data) out.push(v)
  return out
}

describe('a task with differential privacy', () => {
  const events = createEventBus()
  let t: Awaited<ReturnType<typeof testScheduler>>
  let devices = 0
  beforeAll(async () => {
    t = await testScheduler({ events })
  })
  afterAll(() => t.close())

  /** A delta of the model's shape with every entry `value`. */
  const filled = (value: number): NamedTensor[] =>
    t.models.info({ preset: 'mnist-2nn' }).weightSpec.map(({ name, shape }) => ({
      name,
      shape,
      dtype: 'float32' as const,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value),
    }))

  /** Two devices check in and upload these deltas; resolves with the closed round. */
  async function round(taskId: string, deltas: NamedTensor[][]) {
    const closed = new Promise<RoundView>((resolve) => {
      const stop = events.subscribe(({ event }) => {
        if (event.type !== 'round.closed' || event.taskId !== taskId) return
        stop()
        resolve(event.round)
      })
    })
    const given: Assignment[] = []
    for (const delta of deltas) {
      const [device] = await t.enrol(`dp-${++devices}`)
      const a = (await t.scheduler.checkin(device!, request)) as Assignment
      given.push(a)
      const body = encodeContainer({
        tensors: delta,
        metadata: { examples: 4, steps: 1, baseModel: a.model.hash },
      })
      const answer = await t.scheduler.upload({
        device: device!,
        taskId,
        round: a.round,
        readBody: () => Promise.resolve(body),
      })
      expect(answer.answer.type).toBe('accepted')
    }
    return { closed: await closed, given }
  }

  const weights = async (hash: string) => flat(await t.models.weights(hash))

  it('central: clips each update on the server and adds noise of std σC to the sum', async () => {
    const privacy = { clipNorm: 1, noiseMultiplier: 2, epsilonBudget: 1000, population: 100 }
    const task = await t.scheduler.createTask(spec(privacy))
    // One device sends an update far past the clip norm; the other nothing.
    const big = filled(0.05)
    const norm = Math.sqrt(flat(big).reduce((s, v) => s + v * v, 0))
    const { closed, given } = await round(task.id, [big, filled(0)])
    expect(given[0]!.privacy).toEqual({ clipNorm: 1, noiseStd: 0 })
    expect(closed.status).toBe('committed')
    const before = await weights(closed.baseModel)
    const after = await weights(closed.model!)
    const change = after.map((v, i) => v - before[i]!)
    // The mean of the clipped updates is 0.05/norm/2 per entry; the noise on the mean σC/2 = 1.
    const expected = 0.05 / norm / 2
    const mean = change.reduce((s, v) => s + v, 0) / change.length
    const std = Math.sqrt(change.reduce((s, v) => s + (v - mean) ** 2, 0) / change.length)
    expect(std).toBeGreaterThan(0.98)
    expect(std).toBeLessThan(1.02)
    expect(Math.abs(mean - expected)).toBeLessThan((5 * 1) / Math.sqrt(change.length))
    // ε of one round at q = 2/100, σ = 2, δ = 1e-5, as the accountant says.
    const epsilon = computeEpsilon({ q: 0.02, sigma: 2, steps: 1, delta: 1e-5 }).epsilon
    expect(closed.epsilon).toBeCloseTo(epsilon, 10)
    expect(t.scheduler.getTask(task.id).epsilonSpent).toBeCloseTo(epsilon, 10)
    await t.scheduler.deleteTask(task.id)
  })

  it('distributed: each device gets its share of the noise, and the secure sum a wide enough range', async () => {
    const privacy = {
      clipNorm: 1,
      noiseMultiplier: 1.5,
      epsilonBudget: 1000,
      population: 100,
      mode: 'distributed' as const,
    }
    // Without secure aggregation the coordinator would see each update with only its share.
    const alone = TaskSpecSchema.safeParse({
      name: 'x',
      purpose: 'p',
      model: { preset: 'mnist-2nn' },
      privacy,
    })
    expect(alone.error?.issues[0]).toMatchObject({ path: ['privacy', 'mode'] })
    const task = await t.scheduler.createTask(
      TaskSpecSchema.parse({
        name: 'distributed',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        rounds: { total: 1, clientsPerRound: 3, minReports: 2, overSelect: 1 },
        privacy,
        secureAggregation: true,
      }),
    )
    const [device] = await t.enrol(`dp-${++devices}`)
    const a = (await t.scheduler.checkin(device!, request)) as Assignment
    // Each of the at least 2 reports carries variance σ²C²/2: the sum at least σ²C².
    const noiseStd = 1.5 / Math.sqrt(2)
    expect(a.privacy).toEqual({ clipNorm: 1, noiseStd })
    expect(a.secureAggregation).toBeDefined()
    await t.scheduler.deleteTask(task.id)
  })

  it('checks the budget as each round would open: a PATCH that raises q stops the task', async () => {
    // Two devices of a hundred a round spend ε ≈ 1.2 over two rounds; fifty would reach 3.9.
    const privacy = { clipNorm: 1, noiseMultiplier: 1, population: 100, epsilonBudget: 2 }
    const task = await t.scheduler.createTask(spec(privacy, 10))
    await round(task.id, [filled(0), filled(0)])
    // Applies from the next round opened: round 2, open already, keeps two devices.
    await t.scheduler.patchTask(task.id, { rounds: { clientsPerRound: 50, minReports: 2 } })
    const second = await round(task.id, [filled(0), filled(0)])
    expect(second.closed).toMatchObject({ status: 'committed', round: 2 })
    const two = computeEpsilon({ q: 0.02, sigma: 1, steps: 2, delta: 1e-5 }).epsilon
    expect(second.closed.epsilon).toBeCloseTo(two, 10)
    // Round 3 would run at q = 0.5: it does not open, and the task says why.
    const view = t.scheduler.getTask(task.id)
    expect(view).toMatchObject({ status: 'completed', committedRounds: 2, round: 2 })
    expect(view.stoppedReason).toMatch(/past the budget 2 /)
    expect((await t.scheduler.listRounds(task.id)).map((r) => r.status)).toEqual([
      'committed',
      'committed',
    ])
    await t.scheduler.deleteTask(task.id)
  })

  it('stops before a round would take ε past the budget, and says why', async () => {
    const privacy = { clipNorm: 1, noiseMultiplier: 1, population: 2, epsilonBudget: 1 }
    const one = computeEpsilon({ q: 1, sigma: 1, steps: 1, delta: 1e-5 }).epsilon
    const two = computeEpsilon({ q: 1, sigma: 1, steps: 2, delta: 1e-5 }).epsilon
    const three = computeEpsilon({ q: 1, sigma: 1, steps: 3, delta: 1e-5 }).epsilon
    const task = await t.scheduler.createTask(
      spec({ ...privacy, epsilonBudget: (two + three) / 2 }, 10),
    )
    expect(one).toBeLessThan(two)
    const first = await round(task.id, [filled(0), filled(0)])
    expect(first.closed.epsilon).toBeCloseTo(one, 10)
    const second = await round(task.id, [filled(0), filled(0)])
    expect(second.closed.epsilon).toBeCloseTo(two, 10)
    const view = t.scheduler.getTask(task.id)
    expect(view).toMatchObject({ status: 'completed', committedRounds: 2 })
    expect(view.stoppedReason).toMatch(/budget/)
    expect(view.epsilonSpent).toBeCloseTo(two, 10)
    expect(view.epsilonSpent!).toBeLessThanOrEqual(view.privacy!.epsilonBudget)
    await t.scheduler.deleteTask(task.id)
  })

  it('refuses a task whose first round alone would pass its budget, naming the field', async () => {
    const error = await t.scheduler
      .createTask(spec({ clipNorm: 1, noiseMultiplier: 0.5, epsilonBudget: 0.1 }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PollenError)
    expect(error).toMatchObject({ status: 422, field: 'privacy.epsilonBudget' })
    expect((error as Error).message).toMatch(/more than the budget 0.1/)
  })
})
