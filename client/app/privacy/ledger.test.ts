import { describe, expect, it } from 'vitest'
import type { DevicePrivacyView, DeviceTaskView } from '../../../shared/protocol/index.ts'
import { createContributor } from '../contribute/loop.ts'
import { deliverPending } from '../outbox/index.ts'
import {
  DB_VERSION,
  type ExampleRecord,
  type LedgerRecord,
  type PendingUpload,
  STORES,
} from '../storage/index.ts'
import { createConsentStore, NO_CONDITIONS } from '../tasks/index.ts'
import { readLedger, recordContribution, recordJoin, refreshPrivacy } from './ledger.ts'
import { testDatabases } from '../storage/testing.ts'

const DP = {
  mode: 'central',
  clipNorm: 1,
  noiseMultiplier: 1.1,
  delta: 1e-5,
  epsilonBudget: 8,
  epsilonSpent: 0,
} as const

const task = (
  id: string,
  privacy: DevicePrivacyView = { differentialPrivacy: DP, secureAggregation: false },
  name = `task ${id}`,
): DeviceTaskView => ({
  id,
  name,
  purpose: 'read digits',
  datasetSpec: null,
  status: 'running',
  endedAt: null,
  mode: 'sync',
  async: null,
  accuracy: null,
  dataset: 'mnist',
  model: { preset: 'mnist-2nn', parameters: 199_210 },
  updateBytes: 796_840,
  rounds: { total: 3, committed: 0, deadlineSeconds: 120 },
  privacy,
})

/** A task whose privacy the coordinator states with `dp` (anything, as a hostile one might). */
const stating = (id: string, dp: unknown, secureAggregation: unknown = false) =>
  task(id, { differentialPrivacy: dp, secureAggregation } as DevicePrivacyView)

const urlOf = (input: RequestInfo | URL) => (input instanceof Request ? input.url : String(input))

const { open, name: dbName } = testDatabases('pollen-ledger')

describe('the privacy ledger', () => {
  it('keeps a task joined with its terms; joining again keeps its first join and its rounds', async () => {
    const db = await open()
    expect(await readLedger(db)).toEqual([])
    expect(await recordJoin(db, task('a'), 100)).toEqual({
      taskId: 'a',
      taskName: 'task a',
      joinedAt: 100,
      rounds: 0,
      lastContributionAt: null,
      differentialPrivacy: { epsilonSpent: 0, epsilonBudget: 8, delta: 1e-5, mode: 'central' },
      secureAggregation: false,
      updatedAt: 100,
    } satisfies LedgerRecord)
    await recordContribution(db, 'a', 150)
    await recordJoin(
      db,
      task('a', { differentialPrivacy: null, secureAggregation: true }, 'renamed'),
      200,
    )
    expect(await readLedger(db)).toEqual([
      {
        taskId: 'a',
        taskName: 'renamed',
        joinedAt: 100,
        rounds: 1,
        lastContributionAt: 150,
        differentialPrivacy: null,
        secureAggregation: true,
        updatedAt: 200,
      },
    ])
  })

  it('counts accepted contributions, and counts one for a task it had no record of', async () => {
    const db = await open()
    await recordJoin(db, task('a'), 1)
    await recordContribution(db, 'a', 10)
    const twice = await recordContribution(db, 'a', 20)
    expect(twice).toMatchObject({ rounds: 2, lastContributionAt: 20, updatedAt: 20, joinedAt: 1 })
    // Joined on a ledger that failed to write: the round still counts, the terms taken as none.
    expect(await recordContribution(db, 'ghost', 30)).toEqual({
      taskId: 'ghost',
      taskName: 'ghost',
      joinedAt: 30,
      rounds: 1,
      lastContributionAt: 30,
      differentialPrivacy: null,
      secureAggregation: false,
      updatedAt: 30,
    })
    expect((await readLedger(db)).map((r) => r.taskId)).toEqual(['a', 'ghost'])
  })

  it('takes ε spent from the task list; keeps what it had against values that make no sense', async () => {
    const db = await open()
    await recordJoin(db, task('a'), 1)
    await recordJoin(db, task('gone'), 2)
    await refreshPrivacy(
      db,
      [task('a', { differentialPrivacy: { ...DP, epsilonSpent: 1.5 }, secureAggregation: true })],
      10,
    )
    const spent = {
      epsilonSpent: 1.5,
      epsilonBudget: 8,
      delta: 1e-5,
      mode: 'central',
    } as const
    expect((await readLedger(db))[0]).toMatchObject({
      differentialPrivacy: spent,
      secureAggregation: true,
      updatedAt: 10,
    })

    const bad: unknown[] = [
      { ...DP, epsilonSpent: Number.NaN },
      { ...DP, epsilonSpent: -1 },
      { ...DP, epsilonSpent: Number.POSITIVE_INFINITY },
      { ...DP, epsilonSpent: '3' },
      { ...DP, epsilonBudget: -8 },
      { ...DP, delta: 1 },
      { ...DP, delta: Number.NaN },
      { ...DP, clipNorm: -1 },
      { ...DP, mode: 'none' },
      { ...DP, mode: 'toString' },
      { mode: 'central' },
      'central',
      7,
      undefined,
    ]
    for (const dp of bad) {
      await refreshPrivacy(db, [stating('a', dp, 'yes')], 20)
      const [a] = await readLedger(db)
      expect(a?.differentialPrivacy).toEqual(spent)
      expect(a?.secureAggregation).toBe(true)
    }
    // A task listed with no privacy field at all keeps its terms too.
    await refreshPrivacy(db, [{ ...task('a'), privacy: undefined } as unknown as DeviceTaskView])
    expect((await readLedger(db))[0]?.differentialPrivacy).toEqual(spent)

    // What was spent stays spent: a lower report at the same δ does not lower it.
    await refreshPrivacy(db, [stating('a', { ...DP, epsilonSpent: 0.5, epsilonBudget: 9 })], 30)
    expect((await readLedger(db))[0]?.differentialPrivacy).toEqual({ ...spent, epsilonBudget: 9 })
    await refreshPrivacy(db, [stating('a', { ...DP, epsilonSpent: 2 })], 40)
    expect((await readLedger(db))[0]?.differentialPrivacy?.epsilonSpent).toBe(2)

    // "gone" is no longer listed: it keeps its last values; "never" was not joined: no record.
    const [, gone] = await readLedger(db)
    expect(gone).toMatchObject({
      taskId: 'gone',
      updatedAt: 2,
      differentialPrivacy: { epsilonSpent: 0, epsilonBudget: 8 },
    })
    await refreshPrivacy(db, [task('never')], 50)
    expect((await readLedger(db)).map((r) => r.taskId)).toEqual(['a', 'gone'])

    // A coordinator that now says "none" is taken at its word: the weakest terms.
    await refreshPrivacy(db, [stating('a', null, false)], 60)
    expect((await readLedger(db))[0]).toMatchObject({
      differentialPrivacy: null,
      secureAggregation: false,
    })
  })

  it('joins with terms that make no sense as none', async () => {
    const db = await open()
    const joined = await recordJoin(db, stating('a', { ...DP, epsilonBudget: 'lots' }, 1), 5)
    expect(joined).toMatchObject({ differentialPrivacy: null, secureAggregation: false })
  })

  it('keeps hostile task names as text, cut to 200 characters', async () => {
    const db = await open()
    const hostile = '<img src=x onerror="alert(1)">&amp;\u202e'
    await recordJoin(db, task('a', undefined, hostile), 1)
    await recordJoin(db, task('b', undefined, 'x'.repeat(5000)), 2)
    const names = (await readLedger(db)).map((r) => r.taskName)
    expect(names).toEqual([hostile, 'x'.repeat(200)])
    // Not a string: the record keeps the name it had.
    await refreshPrivacy(db, [{ ...task('a'), name: { toString: () => 'x' } } as never])
    expect((await readLedger(db))[0]?.taskName).toBe(hostile)
  })
})

describe('the ledger is written', () => {
  it('on consent, in one transaction with it, and a withdrawal keeps it', async () => {
    const db = await open()
    const consents = createConsentStore({ db, now: () => 42 })
    await consents.join(task('a'))
    expect(await readLedger(db)).toMatchObject([{ taskId: 'a', joinedAt: 42, rounds: 0 }])
    await consents.withdraw('a')
    expect(await consents.get('a')).toBeUndefined()
    expect(await readLedger(db)).toMatchObject([{ taskId: 'a', joinedAt: 42 }])
  })

  it('for each upload the coordinator accepts, from the outbox, and only for those', async () => {
    const db = await open()
    await recordJoin(db, task('a'), 1)
    const pending = (round: number): PendingUpload => ({
      key: `a/${round}`,
      taskId: 'a',
      taskName: 'task a',
      round,
      uploadUrl: `/api/v1/tasks/a/rounds/${round}/updates`,
      deadlineAt: round === 9 ? 50 : 10_000,
      body: new ArrayBuffer(16),
      examples: 10,
      steps: 1,
      backend: 'cpu',
      startedAt: 1,
      queuedAt: round,
      attempts: 0,
      claimedUntil: 0,
    })
    for (const round of [1, 2, 3, 4, 9]) await db.put(STORES.uploads, pending(round))
    const answers: Record<string, () => Response> = {
      '1': () => Response.json({ type: 'accepted', round: 1 }),
      '2': () => Response.json({ type: 'late', round: 2, message: 'closed' }, { status: 410 }),
      '3': () => Response.json({ type: 'accepted', round: 3 }),
      '4': () => new Response('down', { status: 503 }),
    }
    const fetch = (input: RequestInfo | URL) => {
      const round = /rounds\/(\d+)/.exec(urlOf(input))?.[1] ?? ''
      return Promise.resolve(answers[round]!())
    }
    const report = await deliverPending(db, { server: 'http://pollen.test', fetch, now: () => 100 })
    expect(report).toEqual({ answered: 3, expired: 1, waiting: 1 })
    expect(await readLedger(db)).toMatchObject([
      { taskId: 'a', rounds: 2, lastContributionAt: 100 },
    ])
  })

  it('with the terms of each task the app lists', async () => {
    const db = await open()
    await recordJoin(db, task('a'), 1)
    const listed = [
      task('a', { differentialPrivacy: { ...DP, epsilonSpent: 3 }, secureAggregation: true }),
    ]
    const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const path = new URL(urlOf(input)).pathname
      if (path === '/api/v1/devices' && init?.method === 'POST')
        return Promise.resolve(Response.json({ type: 'enrolled', deviceId: 'd', token: 't' }))
      if (path === '/api/v1/devices/tasks') return Promise.resolve(Response.json({ tasks: listed }))
      return Promise.resolve(new Response('no', { status: 404 }))
    }
    const contributor = createContributor({
      db,
      server: 'http://pollen.test',
      fetch,
      trainer: () => Promise.reject(new Error('no training here')),
      consents: createConsentStore({ db }),
      conditions: {
        read: () => ({ charging: null, unmetered: null, visible: true }),
        subscribe: () => () => {},
      },
      now: () => 77,
    })
    expect(await contributor.tasks()).toEqual(listed)
    expect(await readLedger(db)).toMatchObject([
      {
        taskId: 'a',
        updatedAt: 77,
        secureAggregation: true,
        differentialPrivacy: { epsilonSpent: 3 },
      },
    ])
  })
})

describe('version 4', () => {
  it('adds the ledger to a version 3 database, keeping every store and record, and seeds it', async () => {
    expect(DB_VERSION).toBeGreaterThanOrEqual(4)
    const name = dbName('upgrade')
    const old = await open(name, 3)
    expect([...old.objectStoreNames]).not.toContain(STORES.ledger)
    await old.put(STORES.settings, { key: 'device', deviceId: 'd1', token: 't', enrolledAt: 5 })
    await old.put(STORES.speed, {
      backend: 'wasm',
      variant: 'wasm simd',
      model: '{}',
      examplesPerSecond: 230,
      measuredAt: 1,
    })
    // As version 3 stored a digit (version 5 gave examples a shape).
    await old.add(STORES.examples, {
      dataset: 'mnist',
      label: 3,
      pixels: new Uint8Array(784).fill(9),
      source: 'drawn',
      addedAt: 1,
    } as unknown as ExampleRecord)
    await old.put(STORES.consent, {
      taskId: 'a',
      taskName: 'task a',
      dataset: 'mnist',
      purpose: 'p',
      state: 'paused',
      conditions: NO_CONDITIONS,
      decidedAt: 50,
    })
    const round = (taskId: string, r: number, outcome: 'accepted' | 'late', at: number) => ({
      taskId,
      taskName: `task ${taskId}`,
      round: r,
      outcome,
      examples: 10,
      steps: 1,
      bytesSent: 100,
      backend: 'wasm' as const,
      startedAt: at - 5,
      finishedAt: at,
    })
    // "a": joined, two rounds accepted and one late; "w": withdrawn after one accepted round.
    for (const r of [
      round('a', 1, 'accepted', 20),
      round('a', 2, 'late', 30),
      round('a', 3, 'accepted', 40),
      round('w', 1, 'accepted', 10),
      round('x', 1, 'late', 12),
    ])
      await old.add(STORES.history, r)
    const stores = [...old.objectStoreNames].sort()
    const before = Object.fromEntries(
      await Promise.all(stores.map(async (s) => [s, await old.getAll(s)] as const)),
    )
    old.close()

    const db = await open(name, 4)
    expect(db.version).toBe(4)
    expect([...db.objectStoreNames].sort()).toEqual([...stores, STORES.ledger].sort())
    for (const s of stores) expect(await db.getAll(s)).toEqual(before[s])
    const seeded = await readLedger(db)
    expect(seeded.map(({ updatedAt: _, ...r }) => r)).toEqual([
      {
        taskId: 'w',
        taskName: 'task w',
        joinedAt: 5,
        rounds: 1,
        lastContributionAt: 10,
        differentialPrivacy: null,
        secureAggregation: false,
      },
      {
        taskId: 'a',
        taskName: 'task a',
        joinedAt: 15,
        rounds: 2,
        lastContributionAt: 40,
        differentialPrivacy: null,
        secureAggregation: false,
      },
    ])
    // The next task list brings their real terms.
    await refreshPrivacy(db, [task('a')], 99)
    expect((await readLedger(db))[1]?.differentialPrivacy?.epsilonBudget).toBe(8)
  })
})
