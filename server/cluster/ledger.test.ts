import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { migrate, readMigrations } from '../store/migrate.ts'
import { postgresDatabase, sqlOf } from '../store/postgres.ts'
import { insert } from '../store/sql-store.ts'
import { freshDatabase, testPool } from '../store/testing-pg.ts'
import { createLedger, type Ledger } from './ledger.ts'
import { clusterDatabase, insertTask, openRoundRecord } from './testing.ts'

const CLAIM = { declared: 100, steps: 10, batchSize: 10 }
let db: Awaited<ReturnType<typeof clusterDatabase>>
/** Two replicas' ledgers, each on its own pool. */
let replicas: [Ledger, Ledger]
let second: pg.Pool
/** The owner's ledger, on a pool of its own (so that it never waits for a replica's). */
let owner: Ledger
let ownerPool: pg.Pool
let taskId: string
let counter = 0

/** A fresh task (epoch 0) with round 1 open, and `n` enrolled devices. */
async function task(devices: number) {
  const id = `t${++counter}`
  await insertTask(db.pool, id)
  expect(await replicas[0].openRound({ epoch: 0, round: openRoundRecord(id, 1) })).toBe(true)
  const ids = Array.from({ length: devices }, (_, i) => `${id}-d${i}`)
  await db.pool.query(
    `insert into devices (id, token_hash, datasets, enrolled_at, last_seen_at)
     select d, 'h-' || d, '[]', 1, 1 from unnest($1::text[]) d`,
    [ids],
  )
  return { id, devices: ids }
}

const selectInput = (deviceId: string, extra: { cap?: number; now?: number } = {}) => ({
  taskId,
  round: 1,
  deviceId,
  cap: extra.cap ?? 1000,
  now: extra.now ?? 1000,
  deadlineMs: 60_000,
  claim: CLAIM,
  backend: 'wasm' as const,
  examplesPerSecond: 50,
})

const update = (deviceId: string, examples: number, replicaId = 'r0') => ({
  key: { taskId, round: 1, deviceId },
  replicaId,
  now: 2000 + examples,
  examples,
  steps: 3,
  loss: 0.5,
  staleness: null,
  partial: false,
  bytes: new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * examples) % 256)),
})

async function count(sql: string, params: unknown[]) {
  const { rows } = await db.pool.query<{ n: string }>(sql, params)
  return Number(rows[0]!.n)
}

beforeAll(async () => {
  db = await clusterDatabase('ledger')
  second = testPool(db.url, 8)
  ownerPool = testPool(db.url, 2)
  replicas = [createLedger(db.pool, { spoolBatch: 2 }), createLedger(second)]
  owner = createLedger(ownerPool)
  // Connected up front, so that the owner's close does not wait for a handshake.
  await Promise.all([ownerPool.query('select 1'), ownerPool.query('select 1')])
})
afterAll(async () => {
  await second?.end()
  await ownerPool?.end()
  await db?.drop()
})

describe('select', () => {
  let devices: string[]
  beforeEach(async () => {
    ;({ id: taskId, devices } = await task(50))
  })

  it('selects exactly the cap of 50 racing devices, on two replicas', async () => {
    const outcomes = await Promise.all(
      devices.map((d, i) => replicas[i % 2]!.select(selectInput(d, { cap: 10, now: 1000 + i }))),
    )
    const selected = outcomes.filter((o) => o.type === 'selected')
    expect(selected).toHaveLength(10)
    expect(outcomes.filter((o) => o.type === 'full')).toHaveLength(40)
    expect(
      selected.map((o) => o.type === 'selected' && o.selected).sort((a, b) => +a - +b),
    ).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    const round = await replicas[0].round(taskId, 1)
    expect(round).toMatchObject({ selected: 10, phase: 'selecting' })
    // The first selection set the deadline, once; every later one reports the same.
    expect(round!.deadlineAt).toBe(round!.firstAssignedAt! + 60_000)
    for (const o of selected)
      expect(o).toMatchObject({
        firstAssignedAt: round!.firstAssignedAt,
        deadlineAt: round!.deadlineAt,
      })
    expect(await count('select count(*) as n from assignments where task_id = $1', [taskId])).toBe(
      10,
    )
  })

  it('selects a device once when two replicas race to select it', async () => {
    const outcomes = await Promise.all(
      devices.flatMap((d) => replicas.map((l) => l.select(selectInput(d)))),
    )
    expect(outcomes.filter((o) => o.type === 'selected')).toHaveLength(50)
    expect(outcomes.filter((o) => o.type === 'already')).toEqual(
      Array(50).fill({ type: 'already', state: 'assigned' }),
    )
    expect(await replicas[1].round(taskId, 1)).toMatchObject({ selected: 50 })
    expect(await count('select count(*) as n from assignments where task_id = $1', [taskId])).toBe(
      50,
    )
  })

  it('keeps the assignment with its claim, and says already before full', async () => {
    const d = devices[0]!
    expect(
      await replicas[0].select({ ...selectInput(d, { cap: 1 }), replicaId: 'r0' }),
    ).toMatchObject({
      type: 'selected',
      selected: 1,
    })
    expect(await replicas[1].select(selectInput(d, { cap: 1 }))).toEqual({
      type: 'already',
      state: 'assigned',
    })
    expect(await replicas[1].select(selectInput(devices[1]!, { cap: 1 }))).toEqual({ type: 'full' })
    expect(await replicas[1].assignment({ taskId, round: 1, deviceId: d })).toMatchObject({
      state: 'assigned',
      claim: CLAIM,
      backend: 'wasm',
      examplesPerSecond: 50,
      assignedAt: 1000,
    })
  })

  it('leaves the deadline unset without one', async () => {
    const outcome = await replicas[0].select({ ...selectInput(devices[0]!), deadlineMs: null })
    expect(outcome).toMatchObject({ type: 'selected', deadlineAt: null, firstAssignedAt: 1000 })
  })

  it('takes no device into a closing round, or a round that is not there', async () => {
    expect(await replicas[0].beginClose({ taskId, round: 1, epoch: 0 })).toBe(true)
    expect(await replicas[1].select(selectInput(devices[0]!))).toEqual({ type: 'not-accepting' })
    expect(await replicas[1].select({ ...selectInput(devices[0]!), round: 2 })).toEqual({
      type: 'not-accepting',
    })
    expect(await replicas[1].round(taskId, 1)).toMatchObject({ selected: 0, phase: 'closing' })
  })
})

describe('accept', () => {
  let devices: string[]
  beforeEach(async () => {
    ;({ id: taskId, devices } = await task(30))
    for (const d of devices) await replicas[0].select(selectInput(d))
  })

  it('accepts a racing second upload of a device once', async () => {
    const d = devices[0]!
    const outcomes = await Promise.all(replicas.map((l, i) => l.accept(update(d, 7, `r${i}`))))
    expect(outcomes).toContainEqual({ type: 'accepted', reported: 1, examples: 7 })
    expect(outcomes).toContainEqual({ type: 'duplicate', state: 'reported' })
    expect(await replicas[0].accept(update(d, 7))).toEqual({ type: 'duplicate', state: 'reported' })
    expect(await replicas[0].round(taskId, 1)).toMatchObject({
      reported: 1,
      examples: 7,
      bytesUp: 64,
    })
    const spooled = []
    for await (const row of replicas[1].spool(taskId, 1)) spooled.push(row)
    expect(spooled).toHaveLength(1)
    // The bytes come back as they went.
    expect(spooled[0]).toMatchObject({ deviceId: d, examples: 7, steps: 3, loss: 0.5 })
    expect([...spooled[0]!.bytes]).toEqual([...update(d, 7).bytes])
  })

  it('spools an update uncompressed, as its bytes came (migration 011)', async () => {
    const d = devices[0]!
    const bytes = new Uint8Array(100_000).fill(7) // compressible: stored whole all the same
    expect(await replicas[0].accept({ ...update(d, 7), bytes })).toMatchObject({ type: 'accepted' })
    const { rows } = await db.pool.query<{ stored: number }>(
      'select pg_column_size(bytes) as stored from spool where task_id = $1 and device_id = $2',
      [taskId, d],
    )
    expect(rows).toEqual([{ stored: 100_000 }])
  })

  it('counts every update it accepted as the round closes, and the rest late', async () => {
    // Updates of 1 MB, so that they are still in flight when the owner (on a pool of its own)
    // closes as the first is spooled; five more come once the close has begun.
    const big = (d: string, i: number) => ({
      ...update(d, i + 1, `r${i % 2}`),
      bytes: new Uint8Array(1 << 20).fill(i),
    })
    const upload = (d: string, i: number) => replicas[i % 2]!.accept(big(d, i))
    const racing = devices.slice(0, 25).map(upload)
    while ((await owner.spooledBy(taskId, 1)).size === 0)
      await new Promise((resolve) => setTimeout(resolve, 1))
    const closing = owner.beginClose({ taskId, round: 1, epoch: 0 })
    const ok = await closing
    // What the spool holds once beginClose resolves is what the owner will fold.
    const spooled = await owner.spooledBy(taskId, 1)
    const afterClose = devices.slice(25).map((d, i) => upload(d, i + 25))
    const outcomes = await Promise.all([...racing, ...afterClose])
    expect(ok).toBe(true)
    const accepted = devices.filter((_, i) => outcomes[i]!.type === 'accepted')
    const late = devices.filter((_, i) => outcomes[i]!.type === 'late')
    expect(accepted.length + late.length).toBe(30)
    expect(accepted.length).toBeGreaterThan(0)
    expect(late.length).toBeGreaterThan(0)
    // Nothing accepted after the owner's view was taken: it holds every accepted update.
    expect([...spooled.values()].flat().sort()).toEqual([...accepted].sort())
    const examples = (ds: string[]) => ds.reduce((s, d) => s + devices.indexOf(d) + 1, 0)
    const round = await replicas[1].round(taskId, 1)
    expect(round).toMatchObject({
      reported: accepted.length,
      late: late.length,
      examples: examples(accepted),
      bytesUp: (1 << 20) * accepted.length,
      phase: 'closing',
    })
    expect(await replicas[0].counts(taskId, 1)).toEqual({
      selected: 30,
      reported: accepted.length,
      late: late.length,
      rejected: 0,
      examples: examples(accepted),
      bytesUp: (1 << 20) * accepted.length,
      // The updates here are raw bytes, no container: counted as unreadable.
      bytesUpByCodec: { unreadable: (1 << 20) * accepted.length },
    })
    const by = await replicas[1].spooledBy(taskId, 1)
    expect([...by.values()].flat().sort()).toEqual([...accepted].sort())
    const meta = await replicas[0].spoolMeta(taskId, 1)
    expect(meta.reduce((s, m) => s + m.examples, 0)).toBe(examples(accepted))
    // Streamed in pages of 2 (replica 0's ledger), in accept order, nothing twice.
    const streamed = []
    for await (const row of replicas[0].spool(taskId, 1)) {
      streamed.push(row.deviceId)
      // Each update's bytes are its index, a megabyte of it (compared whole, not by element).
      const sent = big(row.deviceId, devices.indexOf(row.deviceId)).bytes
      expect(Buffer.from(row.bytes).equals(sent)).toBe(true)
    }
    expect(streamed).toEqual(meta.map((m) => m.deviceId))
    // An upload after the close: late, and counted so.
    const after = await replicas[0].accept(update(devices[29]!, 30))
    if (outcomes[29]!.type === 'late') expect(after).toEqual({ type: 'duplicate', state: 'late' })
    else expect(after).toEqual({ type: 'duplicate', state: 'reported' })
  })

  it('answers unknown for a device it never selected', async () => {
    const { devices: others } = await task(1)
    expect(await replicas[0].accept({ ...update(others[0]!, 1) })).toEqual({ type: 'unknown' })
    expect(
      await replicas[0].accept({
        ...update(devices[0]!, 1),
        key: { taskId, round: 9, deviceId: devices[0]! },
      }),
    ).toEqual({ type: 'unknown' })
  })

  it('rejects, marks late and counts downloads once per assigned device', async () => {
    const key = (i: number) => ({ taskId, round: 1, deviceId: devices[i]! })
    const down = (i: number, now: number, encoding = 'float32') => ({
      key: key(i),
      now,
      bytes: 1000,
      encoding,
    })
    expect(await replicas[0].downloaded(down(0, 1500))).toBe(true)
    expect(await replicas[1].downloaded(down(0, 1600, 'float16'))).toBe(true)
    const rejection = { key: key(0), now: 1700, bytesUp: 64, codec: 'int8' }
    expect(await replicas[1].reject(rejection)).toBe(true)
    expect(await replicas[1].reject(rejection)).toBe(false)
    expect(await replicas[1].downloaded(down(0, 1800))).toBe(false)
    expect(await replicas[0].late({ key: key(1), now: 1900 })).toBe(true)
    expect(await replicas[0].late({ key: key(1), now: 1900 })).toBe(false)
    expect(await replicas[0].accept(update(devices[1]!, 5))).toEqual({
      type: 'duplicate',
      state: 'late',
    })
    expect(await replicas[0].round(taskId, 1)).toMatchObject({
      rejected: 1,
      late: 1,
      bytesDown: 2000,
      bytesUp: 64,
      reported: 0,
      // Each replica's counts by codec add up in the row, as bytes_up and bytes_down do.
      bytesUpByCodec: { int8: 64 },
      bytesDownByEncoding: { float32: 1000, float16: 1000 },
    })
    expect(await replicas[0].counts(taskId, 1)).toMatchObject({
      bytesUp: 64,
      bytesUpByCodec: { int8: 64 },
    })
    expect(await replicas[0].assignment(key(0))).toMatchObject({
      state: 'rejected',
      downloadedAt: 1500,
      answeredAt: 1700,
      bytesUp: 64,
    })
  })
})

describe('the owner', () => {
  let devices: string[]
  beforeEach(async () => {
    ;({ id: taskId, devices } = await task(4))
    for (const d of devices) await replicas[0].select(selectInput(d))
    for (const [i, d] of devices.entries())
      await replicas[i % 2]!.accept(update(d, i + 1, `r${i % 2}`))
  })

  it('keeps partial sums as written, the last write winning', async () => {
    const partial = {
      taskId,
      round: 1,
      replicaId: 'r1',
      devices: [devices[3]!, devices[1]!],
      reports: 2,
      examples: 6,
      weight: 6,
      sum: new Float64Array([0.1, -2.5e300, Number.MIN_VALUE, 3]),
      extra: { clipped: 1 },
      writtenAt: 5,
    }
    await replicas[1].writePartial({ ...partial, reports: 1 })
    await replicas[1].writePartial(partial)
    expect(await replicas[0].partials(taskId, 1)).toEqual([
      { ...partial, devices: [devices[1]!, devices[3]!] },
    ])
    expect(await replicas[0].partials(taskId, 2)).toEqual([])
    expect(await replicas[0].spooledBy(taskId, 1)).toEqual(
      new Map([
        ['r0', [devices[0]!, devices[2]!]],
        ['r1', [devices[1]!, devices[3]!]],
      ]),
    )
    const fromR1 = []
    for await (const row of replicas[0].spool(taskId, 1, ['r1'])) fromR1.push(row.deviceId)
    expect(fromR1.sort()).toEqual([devices[1]!, devices[3]!])
  })

  it('writes only at the epoch it holds: a stale owner is fenced off', async () => {
    await db.pool.query('update tasks set owner_epoch = 1 where id = $1', [taskId])
    const finish = (epoch: number) =>
      replicas[0].finishRound({
        epoch,
        round: { taskId, round: 1, status: 'committed', model: 'm1', closedAt: 9, dropped: 0 },
        task: { modelHash: 'm1', committedRounds: 1, updatedAt: 9 },
        phase: 'committed',
      })
    expect(await replicas[0].beginClose({ taskId, round: 1, epoch: 0 })).toBe(false)
    expect(await replicas[0].beginClose({ taskId, round: 1, epoch: 1 })).toBe(true)
    expect(await replicas[0].beginClose({ taskId, round: 1, epoch: 1 })).toBe(false)
    expect(await finish(0)).toBe(false)
    expect(await replicas[0].round(taskId, 1)).toMatchObject({ status: 'open', phase: 'closing' })
    expect(await count('select count(*) as n from spool where task_id = $1', [taskId])).toBe(4)

    await replicas[0].writePartial({
      taskId,
      round: 1,
      replicaId: 'r0',
      devices: [],
      reports: 0,
      examples: 0,
      weight: 0,
      sum: new Float64Array(2),
      extra: {},
      writtenAt: 1,
    })
    expect(await finish(1)).toBe(true)
    expect(await replicas[0].round(taskId, 1)).toMatchObject({
      status: 'committed',
      phase: 'committed',
      model: 'm1',
      closedAt: 9,
      reported: 4,
      examples: 10,
    })
    expect(await count('select count(*) as n from spool where task_id = $1', [taskId])).toBe(0)
    expect(await count('select count(*) as n from partials where task_id = $1', [taskId])).toBe(0)
    const { rows } = await db.pool.query(
      'select model_hash, committed_rounds, round from tasks where id = $1',
      [taskId],
    )
    expect(rows[0]).toEqual({ model_hash: 'm1', committed_rounds: 1, round: 1 })

    expect(await replicas[1].openRound({ epoch: 0, round: openRoundRecord(taskId, 2) })).toBe(false)
    expect(await replicas[1].round(taskId, 2)).toBeUndefined()
    expect(await replicas[1].openRound({ epoch: 1, round: openRoundRecord(taskId, 2) })).toBe(true)
    expect(await replicas[1].round(taskId, 2)).toMatchObject({
      phase: 'open',
      status: 'open',
      selected: 0,
    })
    const after = await db.pool.query('select round from tasks where id = $1', [taskId])
    expect(after.rows[0]).toEqual({ round: 2 })
  })

  it('stops a task (its privacy budget) only at the epoch it holds', async () => {
    await db.pool.query('update tasks set owner_epoch = 1 where id = $1', [taskId])
    const stop = (epoch: number, stoppedReason: string) =>
      owner.updateTask({ epoch, taskId, task: { status: 'completed', stoppedReason } })
    expect(await stop(0, 'stale')).toBe(false)
    expect(await stop(1, 'the budget')).toBe(true)
    const { rows } = await db.pool.query('select status, stopped_reason from tasks where id = $1', [
      taskId,
    ])
    expect(rows[0]).toEqual({ status: 'completed', stopped_reason: 'the budget' })
  })
})

describe('migration 010', () => {
  it('gives the rounds stored before it their status as phase', async () => {
    const fresh = await freshDatabase('ledger_010')
    const pool = testPool(fresh.url, 2)
    try {
      const shipped = await readMigrations()
      await migrate(postgresDatabase(pool), { migrations: shipped.filter((m) => m.version < 10) })
      await insertTask(pool, 'old')
      const sql = sqlOf(pool)
      for (const [round, status] of [
        [1, 'committed'],
        [2, 'abandoned'],
        [3, 'open'],
      ] as const) {
        // Without the columns of later migrations (014's bytes by codec): as rows were then.
        const {
          bytesUpByCodec: _up,
          bytesDownByEncoding: _down,
          ...then
        } = openRoundRecord('old', round)
        await insert(sql, 'rounds', { ...then, status })
      }
      expect(await migrate(postgresDatabase(pool))).toContain(10)
      const { rows } = await pool.query('select round, phase from rounds order by round')
      expect(rows).toEqual([
        { round: 1, phase: 'committed' },
        { round: 2, phase: 'abandoned' },
        { round: 3, phase: 'open' },
      ])
      expect((await pool.query('select owner_epoch from tasks')).rows).toEqual([
        { owner_epoch: '0' },
      ])
    } finally {
      await pool.end()
      await fresh.drop()
    }
  })
})
