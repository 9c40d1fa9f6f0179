import { describe, expect, it, vi } from 'vitest'
import type { AssignmentRecord, RoundRecord } from '../store/index.ts'
import { fakeCore, INFO, liveTask, taskRecord } from './fakes.ts'
import type { RoundPolicy } from './live.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createQueries } from './queries.ts'
import { createTransitions, nextRound } from './transitions.ts'

const stored = (round: number, more: Partial<RoundRecord> = {}): RoundRecord => ({
  ...nextRound({ id: 't1', round, modelHash: `base${round}` }, 0),
  status: 'committed',
  model: `model${round}`,
  ...more,
})

const assignment: AssignmentRecord = {
  taskId: 't1',
  round: 1,
  deviceId: 'a',
  state: 'reported',
  examples: 30,
  assignedAt: 1000,
  answeredAt: 5000,
  backend: 'wasm',
  examplesPerSecond: 2,
  downloadedAt: null,
  bytesUp: 64,
}

/** Task t1 with round 1 committed, 2 abandoned and 3 open, on a store that holds them. */
function setup() {
  const rounds = [
    stored(1, { selected: 2, reported: 2 }),
    stored(2, { status: 'abandoned', model: null, abandonedReason: 'too few' }),
  ]
  const fake = fakeCore({
    answers: {
      listRounds: () => Promise.resolve(rounds),
      listAssignments: () => Promise.resolve([assignment]),
      listDevices: () =>
        Promise.resolve([
          { id: 'a', label: 'Ada’s phone', tokenHash: 'a' } as never,
          { id: 'b', label: null, tokenHash: 'b' } as never,
        ]),
    },
  })
  const { core } = fake
  const record = taskRecord()
  record.round = 2
  record.committedRounds = 1
  const live = liveTask(record, { begin: vi.fn() } as unknown as RoundPolicy)
  core.tasks.set(live.record.id, live)
  createTransitions(core, () => Promise.resolve(null), createPrivacyBudget(core)).openNextRound(
    live,
  )
  // The store has the open round as it was first written.
  rounds.push(stored(3, { status: 'open', model: null }))
  return { ...fake, queries: createQueries(core), live, round: live.open!, rounds }
}

async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  throw new Error('expected it to throw')
}

describe('the read side', () => {
  it('listRounds: the stored rounds, the open one with its live counters', async () => {
    const { queries, round } = setup()
    round.record.selected = 4
    round.record.reported = 1
    const views = await queries.listRounds('t1')
    expect(views.map((v) => [v.round, v.status, v.selected, v.reported])).toEqual([
      [1, 'committed', 2, 2],
      [2, 'abandoned', 0, 0],
      [3, 'open', 4, 1],
    ])
  })

  it('roundDevices: each device selected, with its label, tier and times', async () => {
    const { queries } = setup()
    expect(await queries.roundDevices('t1', 1)).toEqual([
      {
        deviceId: 'a',
        label: 'Ada’s phone',
        backend: 'wasm',
        tier: 'slow',
        state: 'reported',
        assignedAt: new Date(1000).toISOString(),
        downloadedAt: null,
        answeredAt: new Date(5000).toISOString(),
        examples: 30,
        bytesUp: 64,
      },
    ])
  })

  it('roundDevices: 404 for a round the task has not reached, or no round number', async () => {
    const { queries, calls } = setup()
    for (const n of [0, -1, 1.5, 4, Number.NaN])
      expect(await thrown(() => queries.roundDevices('t1', n))).toMatchObject({
        code: 'not_found',
        field: 'round',
      })
    expect(calls.map((c) => c.name)).not.toContain('listAssignments')
    expect(await thrown(() => queries.roundDevices('nope', 1))).toMatchObject({
      code: 'not_found',
      field: 'id',
    })
  })

  it('roundModel: a committed round’s model; 404 for no such round, 409 for one without', async () => {
    const { queries } = setup()
    expect(await queries.roundModel('t1', 1)).toEqual({
      spec: { preset: 'mnist-2nn' },
      hash: 'model1',
      info: INFO,
    })
    expect(await thrown(() => queries.roundModel('t1', 9))).toMatchObject({
      code: 'not_found',
      status: 404,
      field: 'round',
    })
    expect(await thrown(() => queries.roundModel('t1', 2))).toMatchObject({
      code: 'conflict',
      status: 409,
      message: 'round 2 was abandoned: it committed no model',
    })
    expect(await thrown(() => queries.roundModel('t1', 3))).toMatchObject({
      code: 'conflict',
      message: 'round 3 is still open: its model is not committed yet',
    })
  })

  it('snapshot: each task’s status and its open round’s counts', () => {
    const { queries, core, round } = setup()
    round.record.selected = 5
    round.record.reported = 2
    const idle = liveTask({ ...taskRecord(), id: 't2', status: 'paused' }, {} as RoundPolicy)
    core.tasks.set('t2', idle)
    expect(queries.snapshot()).toEqual([
      { id: 't1', status: 'running', selected: 5, reported: 2 },
      { id: 't2', status: 'paused', selected: 0, reported: 0 },
    ])
  })

  it('currentModel and getTask: the task’s model and view, 404 for an unknown task', () => {
    const { queries } = setup()
    expect(queries.currentModel('t1')).toMatchObject({ hash: 'h0', info: INFO })
    expect(queries.getTask('t1')).toMatchObject({ id: 't1', round: 3 })
    expect(() => queries.getTask('nope')).toThrow(expect.objectContaining({ code: 'not_found' }))
  })
})
