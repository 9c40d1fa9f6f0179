import pg from 'pg'
import { testPool } from '../store/testing-pg.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSecAggClient, SecAggError } from '../../shared/secagg/index.ts'
import { createLedger, type Ledger } from './ledger.ts'
import type { SecureBegin } from './secure-log.ts'
import { clusterDatabase, insertTask, openRoundRecord } from './testing.ts'

// The secure rounds' log against the real PostgreSQL server: two replicas (each its own pool
// and its own copy of the round) take calls at once, and rebuild one and the same round.

let db: Awaited<ReturnType<typeof clusterDatabase>>
let second: pg.Pool
let a: Ledger
let b: Ledger
let counter = 0

const begin = (cap: number): SecureBegin => ({
  length: 16,
  range: 1,
  thresholdShare: 0.6,
  minSurvivors: 3,
  deadlineSeconds: 60,
  cap,
})

async function task() {
  const id = `s${++counter}`
  await insertTask(db.pool, id)
  expect(await a.openRound({ epoch: 0, round: openRoundRecord(id, 1) })).toBe(true)
  return id
}

const keysOf = async (ids: string[]) =>
  Promise.all(ids.map(async (id) => ({ id, keys: (await createSecAggClient(id)).keys() })))

/** Advertises each device's keys on replica a or b in turn, all at once. */
function advertiseAll(taskId: string, all: { id: string; keys: ReturnType<never> }[], cap: number) {
  return Promise.all(
    all.map(({ id, keys }, i) =>
      (i % 2 === 0 ? a : b).secure.write(taskId, 1, begin(cap), (w) => {
        w.apply({ call: 'advertise', device: id, body: keys })
        if (w.round.state.participants.size >= cap) w.closeAdvertise()
      }),
    ),
  )
}

beforeAll(async () => {
  db = await clusterDatabase('secure_log')
  second = testPool(db.url, 8)
  a = createLedger(db.pool)
  b = createLedger(second)
}, 60_000)

afterAll(async () => {
  await second.end()
  await db.drop()
})

describe('secure rounds on replicas: one log, replayed', () => {
  it('takes racing calls from two replicas in one order, and both build the same random graph', async () => {
    const taskId = await task()
    // 40 participants: past the complete graph, so closeAdvertise draws a random permutation.
    const all = await keysOf(Array.from({ length: 40 }, (_, i) => `d${i}`))
    await advertiseAll(taskId, all as never, 40)
    const [ra, rb] = [await a.secure.read(taskId, 1), await b.secure.read(taskId, 1)]
    for (const r of [ra!, rb!]) {
      expect(r.state.stage).toBe('share')
      expect(r.state.participants.size).toBe(40)
    }
    const graph = (r: typeof ra) =>
      [...r!.state.participants].map(([id, p]) => [id, p.neighbours.join(',')]).sort()
    expect(graph(rb)).toEqual(graph(ra))
    expect(ra!.state.config!.degree).toBeLessThan(39)
    const { rows } = await db.pool.query<{ seq: number; call: string }>(
      'select seq, call from secagg_log where task_id = $1 and round = 1 order by seq',
      [taskId],
    )
    // begin, 40 advertisements, the close: contiguous, the close last.
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1))
    expect(rows.at(-1)!.call).toBe('closeAdvertise')
    // A third replica, starting from nothing, replays the same graph.
    const third = createLedger(db.pool)
    expect(graph(await third.secure.read(taskId, 1))).toEqual(graph(ra))
  })

  it('refuses a bad call without writing it, and the replica goes on', async () => {
    const taskId = await task()
    const all = await keysOf(['x', 'y', 'z', 'w'])
    await advertiseAll(taskId, all.slice(0, 3) as never, 4)
    const again = a.secure.write(taskId, 1, begin(4), (w) =>
      w.apply({ call: 'advertise', device: 'x', body: all[0]!.keys }),
    )
    await expect(again).rejects.toBeInstanceOf(SecAggError)
    const { rows } = await db.pool.query('select 1 from secagg_log where task_id = $1', [taskId])
    expect(rows).toHaveLength(4) // begin and three advertisements
    await a.secure.write(taskId, 1, begin(4), (w) => {
      w.apply({ call: 'advertise', device: 'w', body: all[3]!.keys })
      if (w.round.state.participants.size >= 4) w.closeAdvertise()
    })
    expect((await b.secure.read(taskId, 1))!.state.stage).toBe('share')
  })

  it('never writes past an entry its copy has that the log lost (a commit that failed)', async () => {
    const taskId = await task()
    const all = await keysOf(['p', 'q', 'r', 's', 't'])
    await advertiseAll(taskId, all.slice(0, 3) as never, 5)
    expect((await a.secure.read(taskId, 1))!.seq).toBe(4)
    // Replica a's copy holds advertisement 4, which the database then loses.
    await db.pool.query('delete from secagg_log where task_id = $1 and seq = 4', [taskId])
    const write = (id: string, keys: never) =>
      a.secure.write(taskId, 1, begin(5), (w) =>
        w.apply({ call: 'advertise', device: id, body: keys }),
      )
    await expect(write('s', all[3]!.keys as never)).rejects.toThrow(/moved on/)
    // Its copy was dropped: rebuilt from the log, the next call goes in right after entry 3.
    await write('s', all[3]!.keys as never)
    const kept = await db.pool.query<{ device_id: string }>(
      'select device_id from secagg_log where task_id = $1 and seq in (2, 3)',
      [taskId],
    )
    // What the log holds now, as a copy made from nothing reads it.
    const r = (await createLedger(db.pool).secure.read(taskId, 1))!
    expect(r.seq).toBe(4)
    expect([...r.state.participants.keys()].sort()).toEqual(
      [...kept.rows.map((row) => row.device_id), 's'].sort(),
    )
  })
})
