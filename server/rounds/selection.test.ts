import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Assignment,
  type CheckinRequest,
  type TaskSpecInput,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import { testScheduler } from './testing.ts'

const request = (capabilities: CheckinRequest['capabilities']): CheckinRequest => ({
  protocolVersion: 1,
  capabilities,
  datasets: [{ name: 'mnist', examples: 600, labels: [600] }],
})

const spec = (extra: Partial<TaskSpecInput>) =>
  TaskSpecSchema.parse({
    name: 'stragglers',
    purpose: 'Train a digit reader; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
    train: { batchSize: 32, localEpochs: 5 },
    rounds: { total: 3, clientsPerRound: 4, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    ...extra,
  })

describe('the scheduler with stragglers in mind', () => {
  let t: Awaited<ReturnType<typeof testScheduler>>

  beforeAll(async () => {
    t = await testScheduler()
  })
  afterAll(() => t.close())

  it('sizes each device to its speed and the time left, and passes FedProx μ on', async () => {
    const task = await t.scheduler.createTask(
      spec({
        work: { deadlineAware: true, margin: 0.25 },
        train: { batchSize: 32, proximalMu: 0.1 },
      }),
    )
    const [fast, slow, silent] = await t.enrol('fast', 'slow', 'silent')
    const a = (await t.scheduler.checkin(
      fast!,
      request({ backend: 'wasm', examplesPerSecond: 200 }),
    )) as Assignment
    // The first check-in starts the 60 s deadline: 200 × 45 s / 32 = 281.25 → 281 steps.
    expect(a.plan).toMatchObject({ maxSteps: 281, partialAtSecondsLeft: 7.5, proximalMu: 0.1 })
    t.clock.advance(20_000)
    // 40 s left: 10 × 30 s / 32 = 9.4 → 9 steps.
    const b = (await t.scheduler.checkin(
      slow!,
      request({ backend: 'wasm', examplesPerSecond: 10 }),
    )) as Assignment
    expect(b.plan.maxSteps).toBe(9)
    // No speed reported: no budget, but still told when to stop.
    const c = (await t.scheduler.checkin(silent!, request({ backend: 'wasm' }))) as Assignment
    expect(c.plan.maxSteps).toBeUndefined()
    expect(c.plan.partialAtSecondsLeft).toBe(7.5)
    await t.scheduler.deleteTask(task.id)
  })

  it('leaves plans as they were for a task that does not size work', async () => {
    const task = await t.scheduler.createTask(spec({}))
    const [d] = await t.enrol('plain')
    const a = (await t.scheduler.checkin(
      d!,
      request({ backend: 'wasm', examplesPerSecond: 10 }),
    )) as Assignment
    expect(a.plan).toEqual({ optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 5 })
    await t.scheduler.deleteTask(task.id)
  })

  it('refuses devices the task rules out: for good, or until they charge', async () => {
    const task = await t.scheduler.createTask(
      spec({ eligibility: { minBackend: 'wasm', minMemoryMB: 1000, requireCharging: true } }),
    )
    const [d] = await t.enrol('rules')
    expect(await t.scheduler.checkin(d!, request({ backend: 'cpu', memoryMB: 4000 }))).toEqual({
      type: 'none',
      reason: 'task stragglers needs the wasm backend or better (cpu < wasm < webgpu)',
    })
    expect(await t.scheduler.checkin(d!, request({ backend: 'webgpu' }))).toMatchObject({
      type: 'none',
      reason: 'task stragglers needs at least 1000 MB of memory',
    })
    expect(
      await t.scheduler.checkin(
        d!,
        request({ backend: 'webgpu', memoryMB: 4000, charging: false }),
      ),
    ).toMatchObject({
      type: 'retry',
      reason: 'task stragglers takes devices only while they charge',
    })
    expect(
      await t.scheduler.checkin(d!, request({ backend: 'webgpu', memoryMB: 4000, charging: true })),
    ).toMatchObject({ type: 'assignment', taskId: task.id })
    await t.scheduler.deleteTask(task.id)
  })

  it('counts partial reports in the round, with their examples', async () => {
    const task = await t.scheduler.createTask(spec({ work: { deadlineAware: true } }))
    const [p, q] = await t.enrol('partial', 'whole')
    // Batches of 32: 64 examples in 2 steps, all 600 in 19.
    const body = (examples: number, partial: boolean) =>
      t.zeroUpdate({
        examples,
        steps: Math.ceil(examples / 32),
        baseModel: task.model.hash,
        ...(partial ? { partial } : {}),
      })
    for (const [device, examples, partial] of [
      [p!, 64, true],
      [q!, 600, false],
    ] as const) {
      await t.scheduler.checkin(device, request({ backend: 'wasm', examplesPerSecond: 50 }))
      const answer = await t.scheduler.upload({
        device,
        taskId: task.id,
        round: 1,
        readBody: () => Promise.resolve(body(examples, partial)),
      })
      expect(answer.answer.type).toBe('accepted')
    }
    const [round] = await t.scheduler.listRounds(task.id)
    expect(round!.participation.partial).toEqual({ devices: 1, examples: 64 })
    expect(round!.participation.byTier.slow).toEqual({ devices: 2, examples: 664 })
    await t.scheduler.deleteTask(task.id)
  })
})
