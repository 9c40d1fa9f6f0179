import { describe, expect, it, vi } from 'vitest'
import type { UpdateBounds } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import type { ModelRegistry } from '../models/index.ts'
import type { RoundRecord, Store, TaskRecord } from '../store/index.ts'
import { fakeCore, INFO, liveTask, taskRecord } from './fakes.ts'
import type { LiveTask, RoundPolicy } from './live.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createRecovery } from './recovery.ts'
import { nextRound, type Transitions } from './transitions.ts'

const bounds = (norm: number): UpdateBounds => ({ norm, weight: null, clipped: 0, capped: 0 })

const stored = (taskId: string, round: number, more: Partial<RoundRecord> = {}): RoundRecord => ({
  ...nextRound({ id: taskId, round, modelHash: 'b' }, 0),
  status: 'committed',
  model: 'm',
  ...more,
})

const STATE: NamedTensor[] = [
  { name: 'm', shape: [2], dtype: 'float32', data: Float32Array.from([1, 2]) },
]

/**
 * Recovery over a store holding `tasks` and `rounds`, a model registry whose only blob is the
 * optimizer state `opt`, and transitions that are spies.
 */
function setup(tasks: TaskRecord[], rounds: RoundRecord[]) {
  const log = vi.fn()
  const answers: Partial<Store> = {
    listTasks: () => Promise.resolve(tasks),
    listRounds: (id) => Promise.resolve(rounds.filter((r) => r.taskId === id)),
    listOpenRounds: () => Promise.resolve(rounds.filter((r) => r.status === 'open')),
  }
  const models = {
    info: () => INFO,
    weights: (hash: string) =>
      hash === 'opt' ? Promise.resolve(STATE) : Promise.reject(new Error(`no blob ${hash}`)),
  } as unknown as ModelRegistry
  const fake = fakeCore({ answers, models, log })
  const { core } = fake
  const restore = vi.fn()
  const addLiveTask = (record: TaskRecord): LiveTask => {
    const live = liveTask(record, {} as RoundPolicy)
    live.strategy = { ...live.strategy, restore }
    core.tasks.set(record.id, live)
    return live
  }
  const transitions = { reopen: vi.fn(), openNextRound: vi.fn((_: LiveTask) => {}) }
  const stopping = new AbortController()
  const recovery = createRecovery(core, {
    budget: createPrivacyBudget(core),
    transitions: transitions as unknown as Transitions,
    addLiveTask,
    abort: () => stopping.abort(),
  })
  return { ...fake, recovery, transitions, restore, log, stopping }
}

const task = (id: string, more: Partial<TaskRecord> = {}): TaskRecord => ({
  ...taskRecord(),
  id,
  ...more,
})

describe('recovery', () => {
  it('start: re-opens a round left open afresh, then opens rounds for every task', async () => {
    const { recovery, core, calls, transitions, log } = setup(
      [task('t1', { round: 3 }), task('t2')],
      [stored('t1', 3, { status: 'open', selected: 4 }), stored('gone', 1, { status: 'open' })],
    )
    await recovery.start()
    const t1 = core.tasks.get('t1')
    expect(calls.filter((c) => c.name === 'resetRound').map((c) => c.args)).toEqual([
      ['t1', 3, 1_000_000],
    ])
    expect(transitions.reopen).toHaveBeenCalledTimes(1)
    expect(transitions.reopen).toHaveBeenCalledWith(
      t1,
      expect.objectContaining({ taskId: 't1', round: 3 }),
      1_000_000,
    )
    expect(log).toHaveBeenCalledWith('task t1: round 3 was open at shutdown; re-opened')
    expect(transitions.openNextRound.mock.calls.map(([live]) => live)).toEqual([
      t1,
      core.tasks.get('t2'),
    ])
  })

  it('start: a task’s bounds are those of its last committed round', async () => {
    const { recovery, core } = setup(
      [task('t1'), task('t2')],
      [
        stored('t1', 1, { updateBounds: bounds(1) }),
        stored('t1', 2, { updateBounds: bounds(2) }),
        stored('t1', 3, { status: 'abandoned', updateBounds: bounds(3) }),
      ],
    )
    await recovery.start()
    expect(core.tasks.get('t1')?.bounds).toEqual(bounds(2))
    expect(core.tasks.get('t2')?.bounds).toBeNull()
  })

  it('start: a private task’s population is read back with it', async () => {
    const privacy = { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10, population: 250 }
    const { recovery, core } = setup([{ ...taskRecord({ privacy }), id: 'p' }], [])
    await recovery.start()
    expect(core.tasks.get('p')?.population).toBe(250)
  })

  it('start: the server optimizer carries on from its stored state', async () => {
    const { recovery, restore } = setup([task('t1', { optimizerState: 'opt' })], [])
    await recovery.start()
    expect(restore).toHaveBeenCalledWith(STATE, INFO.weightSpec)
  })

  it('start: a missing optimizer state is logged, and the task starts afresh', async () => {
    const { recovery, restore, log, transitions, core } = setup(
      [task('t1', { optimizerState: 'lost' })],
      [],
    )
    await recovery.start()
    expect(restore).not.toHaveBeenCalled()
    expect(log).toHaveBeenCalledWith(
      'task t1: server optimizer state lost not restored, starting afresh: Error: no blob lost',
    )
    expect(transitions.openNextRound).toHaveBeenCalledWith(core.tasks.get('t1'))
  })

  it('stop: aborts retries, stops timers and secure rounds, and waits for queued writes', async () => {
    const { recovery, core, clock, stopping } = setup([task('t1')], [])
    await recovery.start()
    const live = core.tasks.get('t1')!
    const fired = vi.fn()
    live.open = { timer: clock.setTimeout(fired, 1000) } as never
    const dispose = vi.fn()
    live.secureRounds.set(1, { dispose } as never)
    let release!: () => void
    let written = false
    void core.enqueue(live, async () => {
      await new Promise<void>((resolve) => (release = resolve))
      written = true
    })
    const stopped = recovery.stop()
    expect(stopping.signal.aborted).toBe(true)
    expect(dispose).toHaveBeenCalledWith('the coordinator stopped')
    let done = false
    void stopped.then(() => (done = true))
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(done).toBe(false)
    release()
    await stopped
    expect(written).toBe(true)
    clock.advance(1000)
    expect(fired).not.toHaveBeenCalled()
  })
})
