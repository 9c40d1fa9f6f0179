import { describe, expect, it, vi } from 'vitest'
import type { TaskPatch, TaskSpecInput } from '../../shared/protocol/index.ts'
import type { ModelRegistry } from '../models/index.ts'
import { strategyFor } from '../strategy/index.ts'
import { fakeCore, INFO, taskRecord } from './fakes.ts'
import type { RoundPolicy } from './live.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createTasks } from './tasks.ts'
import { createTransitions } from './transitions.ts'

/** Tasks on a fake core, whose models are `info` under hash h0; rounds open as they would. */
function setup(info = INFO) {
  const models = {
    create: vi.fn((spec: unknown, seed: number) =>
      Promise.resolve({ spec, hash: 'h0', info, seed }),
    ),
  } as unknown as ModelRegistry
  const fake = fakeCore({ models })
  const { core } = fake
  const closing = vi.fn(() => Promise.resolve('the test closes nothing'))
  const policy = { begin: vi.fn(), wrap: (s: unknown) => s, closing } as unknown as RoundPolicy
  const budget = createPrivacyBudget(core)
  const transitions = createTransitions(core, () => Promise.resolve(null), budget)
  const openNextRound = vi.fn(transitions.openNextRound)
  const tasks = createTasks(core, {
    budget,
    strategyOf: (task) => strategyFor(task.spec.aggregation),
    policyOf: () => policy,
    openNextRound,
  })
  return { ...fake, tasks, transitions, openNextRound, closing }
}

const spec = (more: Partial<TaskSpecInput> = {}) => taskRecord(more).spec

/** What `run` threw (it must throw). */
async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  throw new Error('expected it to throw')
}

describe('task changes', () => {
  it('create: stores the task with the seed it drew, announces it and opens its first round', async () => {
    const { tasks, core, calls, published } = setup()
    const view = await tasks.createTask(spec({ rounds: { total: 3 } }))
    const inserted = calls.find((c) => c.name === 'insertTask')?.args[0]
    expect(inserted).toMatchObject({ id: view.id, status: 'running', modelHash: 'h0' })
    expect((inserted as { spec: { seed: unknown } }).spec.seed).toEqual(expect.any(Number))
    expect(core.liveTask(view.id).open?.record.round).toBe(1)
    expect(published.map((e) => e.type)).toEqual(['task.created', 'round.opened'])
  })

  it('create: refuses a private task whose first round alone would pass its budget', async () => {
    const { tasks, core, writes, published } = setup()
    const privacy = { clipNorm: 1, noiseMultiplier: 0.3, epsilonBudget: 0.5, population: 20 }
    const error = await thrown(() => tasks.createTask(spec({ privacy })))
    expect(error).toMatchObject({ code: 'over_budget', field: 'privacy.epsilonBudget' })
    expect((error as Error).message).toMatch(/^one round spends ε = .* more than the budget 0\.5/)
    expect(writes).not.toContain('insertTask')
    expect(core.tasks.size).toBe(0)
    expect(published).toEqual([])
  })

  it('create: refuses a robust rule whose round would not fit in memory', async () => {
    const { tasks, core, writes } = setup({
      ...INFO,
      parameters: 2 ** 28,
      trainableParameters: 2 ** 28,
    })
    const error = await thrown(() =>
      tasks.createTask(spec({ aggregation: { rule: 'median' }, rounds: { clientsPerRound: 10 } })),
    )
    expect(error).toMatchObject({ code: 'invalid_request', field: 'rounds.clientsPerRound' })
    expect((error as Error).message).toContain(`"median" keeps a round's reports`)
    expect(writes).not.toContain('insertTask')
    expect(core.tasks.size).toBe(0)
  })

  it('create: sizes a robust round by what updates carry, not by frozen weights', async () => {
    const { tasks, core } = setup({ ...INFO, parameters: 2 ** 28, trainableParameters: 2 })
    await tasks.createTask(
      spec({ aggregation: { rule: 'median' }, rounds: { clientsPerRound: 10 } }),
    )
    expect(core.tasks.size).toBe(1)
  })

  it('patch: refuses settings a new task could not have, naming each field, and changes nothing', async () => {
    const { tasks, core, writes } = setup()
    const { id } = await tasks.createTask(spec({ rounds: { clientsPerRound: 4 } }))
    const error = await thrown(() => tasks.patchTask(id, { rounds: { minReports: 5 } }))
    expect(error).toMatchObject({
      code: 'invalid_request',
      field: 'rounds.minReports',
      issues: [{ field: 'rounds.minReports', message: 'must be at most clientsPerRound (4)' }],
    })
    expect(core.liveTask(id).record.spec.rounds.minReports).toBe(2)
    expect(writes).not.toContain('updateTask')
  })

  it('patch: refuses a robust rule’s round grown past memory', async () => {
    const { tasks } = setup({ ...INFO, parameters: 2 ** 24, trainableParameters: 2 ** 24 })
    const { id } = await tasks.createTask(
      spec({ aggregation: { rule: 'median' }, rounds: { clientsPerRound: 10 } }),
    )
    const error = await thrown(() => tasks.patchTask(id, { rounds: { clientsPerRound: 100 } }))
    expect(error).toMatchObject({ code: 'invalid_request', field: 'rounds.clientsPerRound' })
  })

  it('patch: rounds.total may not drop below the rounds committed plus the one open', async () => {
    const { tasks, core, writes } = setup()
    const { id } = await tasks.createTask(spec({ rounds: { total: 10 } }))
    core.liveTask(id).record.committedRounds = 2
    const error = await thrown(() => tasks.patchTask(id, { rounds: { total: 2 } }))
    expect(error).toMatchObject({
      code: 'invalid_request',
      field: 'rounds.total',
      message: 'rounds.total must be at least 3: the rounds committed plus the one open',
    })
    expect(writes).not.toContain('updateTask')
    // With no round open, the committed ones are the floor, and reaching it completes the task.
    core.liveTask(id).open = undefined
    const view = await tasks.patchTask(id, { rounds: { total: 2 } })
    expect(view).toMatchObject({ status: 'completed' })
  })

  it('patch: a completed task’s status cannot change', async () => {
    const { tasks, core } = setup()
    const { id } = await tasks.createTask(spec())
    core.liveTask(id).record.status = 'completed'
    const error = await thrown(() => tasks.patchTask(id, { status: 'running' }))
    expect(error).toMatchObject({ code: 'conflict', status: 409, field: 'status' })
  })

  it('patch: a failed task resumed clears its error, stores that and opens a round', async () => {
    const { tasks, core, calls, published, openNextRound } = setup()
    const { id } = await tasks.createTask(spec())
    const live = core.liveTask(id)
    live.open = undefined
    Object.assign(live.record, { status: 'failed', error: 'round 1 could not be committed' })
    const patch: TaskPatch = { status: 'running', train: { learningRate: 0.05 } }
    const view = await tasks.patchTask(id, patch)
    expect(view.status).toBe('running')
    expect(live.record.error).toBeNull()
    const stored = calls.filter((c) => c.name === 'updateTask').at(-1)?.args
    expect(stored).toEqual([
      id,
      expect.objectContaining({ status: 'running', error: null, updatedAt: 1_000_000 }),
    ])
    expect((stored?.[1] as { spec: { train: object } }).spec.train).toMatchObject({
      learningRate: 0.05,
    })
    expect(published.map((e) => e.type).slice(-2)).toEqual(['task.updated', 'round.opened'])
    expect(openNextRound).toHaveBeenLastCalledWith(live)
    expect(core.liveTask(id).open?.record.round).toBe(2)
  })

  it('delete: stops the round’s timer, waits for the queued writes, then removes the task', async () => {
    const { tasks, core, clock, transitions, writes, published, closing } = setup()
    const { id } = await tasks.createTask(spec())
    const live = core.liveTask(id)
    const round = live.open!
    transitions.startDeadline(live, round)
    const dispose = vi.fn()
    live.secureRounds.set(1, { dispose } as never)
    let release!: () => void
    void core.enqueue(live, () => new Promise<void>((resolve) => (release = resolve)))
    const deleted = tasks.deleteTask(id)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(writes).not.toContain('deleteTask')
    release()
    await deleted
    expect(writes.at(-1)).toBe('deleteTask')
    expect(published.at(-1)).toEqual({ type: 'task.deleted', taskId: id })
    expect(dispose).toHaveBeenCalledWith('the task was deleted')
    expect(core.tasks.has(id)).toBe(false)
    // The deadline passes: the deleted task's round does not close.
    clock.advance(round.settings.deadlineSeconds * 1000)
    await transitions.settled()
    expect(closing).not.toHaveBeenCalled()
    expect(writes).not.toContain('closeRound')
  })

  it('patch and delete of an unknown task: 404', async () => {
    const { tasks } = setup()
    expect(await thrown(() => tasks.patchTask('nope', {}))).toMatchObject({ code: 'not_found' })
    expect(await thrown(() => tasks.deleteTask('nope'))).toMatchObject({ code: 'not_found' })
  })
})
