import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Assignment } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import { PollenError } from '../errors.ts'
import { spendRound } from '../privacy/budget.ts'
import {
  closedRound,
  dead,
  enrol,
  expectFedAvg,
  fedAvg,
  logs,
  models,
  own,
  replica,
  type Replica,
  replicas,
  report,
  request,
  roundsOf,
  seen,
  setUp,
  spec,
  tearDown,
  update,
  waitFor,
  type Accepted,
} from './testing-replicas.ts'

// Replicas in one process, each with its own pool, store, ledger, event bus and cache, on one
// fresh PostgreSQL database (testing-replicas.ts): what separate processes share is the database
// (and a blob directory here). Ownership is handed over explicitly (acquire/lose), as Ownership would.

beforeAll(setUp, 60_000)
afterAll(tearDown)

describe('the cluster scheduler on PostgreSQL', () => {
  it('refuses async rounds, which replicas cannot run yet, naming the field', async () => {
    const a = replicas[0] ?? (await replica('a'))
    const error = await a.scheduler
      .createTask(spec({ aggregation: {}, mode: 'async' }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PollenError)
    expect((error as PollenError).field).toBe('mode')
    expect((error as PollenError).message).toMatch(/not yet on PostgreSQL replicas/)
    expect(await a.store.listTasks()).toEqual([])
  })

  it('refuses b-bit secure aggregation, which replicas cannot run yet, at creation and by PATCH', async () => {
    const a = replicas[0] ?? (await replica('a'))
    const rounds = { ...spec().rounds, clientsPerRound: 3, minReports: 3, overSelect: 1 }
    const secure = { secureAggregation: true, rounds, aggregation: {} }
    const error = await a.scheduler
      .createTask(spec({ ...secure, compression: { uploads: ['bbit2'] } }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PollenError)
    expect((error as PollenError).field).toBe('compression.uploads')
    expect((error as PollenError).message).toMatch(/not yet on PostgreSQL replicas/)
    const task = await a.scheduler.createTask(spec(secure))
    const patched = await a.scheduler
      .patchTask(task.id, { compression: { uploads: ['bbit2'] } })
      .catch((e: unknown) => e)
    expect((patched as PollenError).field).toBe('compression.uploads')
    expect((await a.store.getTask(task.id))?.spec.compression.uploads).toEqual(['float32'])
    await a.scheduler.deleteTask(task.id)
  })

  it('runs a task over two replicas: selections and uploads on either, partials merged, the model is FedAvg of what was accepted', async () => {
    const a = replicas[0] ?? (await replica('a'))
    const b = await replica('b')
    const task = await b.scheduler.createTask(spec())
    await own(a, task.id)
    const devices = await enrol(
      a.store,
      Array.from({ length: 12 }, (_, i) => `dev-${i}`),
    )
    for (let n = 1; n <= 3; n++) {
      const round = await waitFor(`round ${n} open`, async () =>
        (await roundsOf(a.store, task.id)).find((r) => r.round === n),
      )
      const base = await models.weights(round.baseModel)
      // Both replicas see the round before devices come.
      await waitFor('the replicas to see it', () =>
        Promise.resolve(
          replicas.every((r) => r.scheduler.getTask(task.id).round === n) || undefined,
        ),
      )
      const accepted: { delta: NamedTensor[]; examples: number }[] = []
      const group = devices.slice((n - 1) * 4, n * 4)
      for (const [i, device] of group.entries()) {
        const via = i % 2 === 0 ? a : b
        const answer = (await via.scheduler.checkin(device, request)) as Assignment
        expect(answer.type).toBe('assignment')
        expect(answer.round).toBe(n)
        // A reload on the other replica gets the same assignment, not a second selection.
        const again = await (via === a ? b : a).scheduler.checkin(device, request)
        expect(again).toMatchObject({ type: 'assignment', round: n })
        const u = update(answer, n * 10 + i)
        const upTo = i % 3 === 0 ? a : b
        const result = await upTo.scheduler.upload({
          device,
          taskId: task.id,
          round: n,
          readBody: () => Promise.resolve(u.bytes),
        })
        expect(result.answer.type).toBe('accepted')
        accepted.push(u)
        // The same update again, on the other replica: a duplicate, counted once.
        const twice = await (upTo === a ? b : a).scheduler.upload({
          device,
          taskId: task.id,
          round: n,
          readBody: () => Promise.resolve(u.bytes),
        })
        expect(twice.answer.type).toBe('duplicate')
      }
      const closed = await waitFor(`round ${n} committed`, async () =>
        (await roundsOf(a.store, task.id)).find((r) => r.round === n && r.status !== 'open'),
      )
      expect(closed).toMatchObject({ status: 'committed', selected: 4, reported: 4, dropped: 0 })
      expect(closed.examples).toBe(accepted.reduce((s, u) => s + u.examples, 0))
      expect(closed.baseModel).toBe(round.baseModel)
      const expected = fedAvg(base, accepted)
      const got = await models.weights(closed.model!)
      got.forEach((w, i) => {
        const want = expected[i]!
        for (let k = 0; k < w.data.length; k += 997) expect(w.data[k]).toBeCloseTo(want[k]!, 5)
      })
    }
    // Every close merged both replicas' partials: no spool was read.
    expect(logs.filter((m) => /spool is read/.test(m))).toEqual([])
    const done = await waitFor('the task completed', async () => {
      const t = await a.store.getTask(task.id)
      return t?.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(3)
  }, 120_000)

  it('counts the updates of a replica that died after accepting them: the owner reads its spool', async () => {
    const a = replicas.find((r) => r.id === 'a')!
    const c = await replica('c')
    const task = await a.scheduler.createTask(spec({ rounds: { ...spec().rounds, total: 1 } }))
    await own(a, task.id)
    await seen([a, c], task.id, 1)
    const devices = await enrol(a.store, ['c-0', 'c-1', 'c-2', 'c-3'])
    const accepted: Accepted[] = []
    accepted.push(await report(task.id, devices[0]!, c, c, 101))
    accepted.push(await report(task.id, devices[1]!, c, c, 102))
    // c dies: no partial from it, ever; its accepted updates are durable in the spool.
    dead.add('c')
    await c.scheduler.stop()
    await c.pool.end()
    replicas.splice(replicas.indexOf(c), 1)
    accepted.push(await report(task.id, devices[2]!, a, a, 103))
    accepted.push(await report(task.id, devices[3]!, a, a, 104))
    const closed = await closedRound(a.store, task.id, 1)
    expect(closed).toMatchObject({ status: 'committed', reported: 4 })
    expect(closed.examples).toBe(accepted.reduce((n, u) => n + u.examples, 0))
    await expectFedAvg(closed.baseModel, closed.model!, accepted)
  }, 60_000)

  it('carries an open round on when another replica takes the task over', async () => {
    const a = replicas.find((r) => r.id === 'a')!
    const b = replicas.find((r) => r.id === 'b')!
    const task = await a.scheduler.createTask(spec({ rounds: { ...spec().rounds, total: 2 } }))
    await own(a, task.id)
    await seen([a, b], task.id, 1)
    const devices = await enrol(a.store, ['t-0', 't-1', 't-2', 't-3', 't-4', 't-5', 't-6', 't-7'])
    const accepted: Accepted[] = []
    accepted.push(await report(task.id, devices[0]!, a, b, 201))
    accepted.push(await report(task.id, devices[1]!, b, a, 202))
    // The owner changes mid-round: the new one keeps the selections and the accepted updates.
    await own(b, task.id, a)
    expect(b.scheduler.owned()).toContain(task.id)
    expect(a.scheduler.owned()).not.toContain(task.id)
    accepted.push(await report(task.id, devices[2]!, a, a, 203))
    accepted.push(await report(task.id, devices[3]!, b, b, 204))
    const first = await closedRound(b.store, task.id, 1)
    expect(first).toMatchObject({ status: 'committed', selected: 4, reported: 4 })
    await expectFedAvg(first.baseModel, first.model!, accepted)
    await seen([a, b], task.id, 2)
    const more: Accepted[] = []
    for (const [i, d] of devices.slice(4).entries())
      more.push(await report(task.id, d, i % 2 ? a : b, i % 2 ? b : a, 300 + i))
    const second = await closedRound(a.store, task.id, 2)
    // The model chain: round 2 starts from round 1's model.
    expect(second).toMatchObject({ status: 'committed', baseModel: first.model })
    await expectFedAvg(second.baseModel, second.model!, more)
    expect((await a.store.listRounds(task.id)).map((r) => r.round)).toEqual([1, 2])
  }, 60_000)

  it('feeds the spool to a round whose maths does not add up (bounds calibrated in the round)', async () => {
    const a = replicas.find((r) => r.id === 'a')!
    const b = replicas.find((r) => r.id === 'b')!
    const task = await b.scheduler.createTask(
      spec({ rounds: { ...spec().rounds, total: 1 }, aggregation: {} }),
    )
    await own(b, task.id)
    await seen([a, b], task.id, 1)
    const devices = await enrol(a.store, ['s-0', 's-1', 's-2', 's-3'])
    let examples = 0
    for (const [i, d] of devices.entries())
      examples += (await report(task.id, d, i % 2 ? a : b, i % 2 ? b : a, 400 + i)).examples
    const closed = await closedRound(a.store, task.id, 1)
    expect(closed).toMatchObject({ status: 'committed', reported: 4, examples })
    // The adaptive bounds calibrated on all four, across both replicas.
    expect(closed.updateBounds?.norm).toBeGreaterThan(0)
  }, 60_000)

  it('runs a central-DP task over two replicas: ε charged as one process would, carried on by a new owner, stopped at its budget', async () => {
    const a = replicas.find((r) => r.id === 'a') ?? (await replica('a'))
    const b = replicas.find((r) => r.id === 'b') ?? (await replica('b'))
    // q = 4 selected of 40 each round; the budget lets two rounds through, not a third.
    const privacy = { clipNorm: 0.05, noiseMultiplier: 1.1, delta: 1e-5, population: 40 }
    const q = 4 / 40
    const one = spendRound(null, privacy, q)
    const two = spendRound(one, privacy, q)
    const epsilonBudget = (two.epsilon + spendRound(two, privacy, q).epsilon) / 2
    const task = await b.scheduler.createTask(
      spec({
        rounds: { ...spec().rounds, total: 3 },
        aggregation: {},
        privacy: { ...privacy, epsilonBudget },
      }),
    )
    await own(a, task.id)
    const devices = await enrol(a.store, ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'p-7'])
    for (const [n, spent] of [one, two].entries()) {
      await seen([a, b], task.id, n + 1)
      for (const [i, d] of devices.slice(n * 4, n * 4 + 4).entries())
        await report(task.id, d, i % 2 ? a : b, i % 2 ? b : a, 700 + n * 10 + i)
      const closed = await closedRound(b.store, task.id, n + 1)
      expect(closed).toMatchObject({ status: 'committed', reported: 4 })
      expect(closed.epsilon).toBeCloseTo(spent.epsilon, 9)
      // The other replica owns the second round, carrying the first's ε on from the database.
      if (n === 0) await own(b, task.id, a)
    }
    const stopped = await waitFor('the task stopped at its budget', async () => {
      const t = await a.store.getTask(task.id)
      return t?.status === 'completed' ? t : undefined
    })
    expect(stopped.committedRounds).toBe(2)
    expect(stopped.privacySpent?.epsilon).toBeCloseTo(two.epsilon, 9)
    expect(stopped.stoppedReason).toMatch(/past the budget/)
    expect((await a.store.listRounds(task.id)).map((r) => r.round)).toEqual([1, 2])
    // Every replica's view says the same.
    for (const r of [a, b])
      await waitFor(`${r.id} to see the stop`, () => {
        const view = r.scheduler.getTask(task.id)
        return Promise.resolve(view.status === 'completed' ? view : undefined)
      }).then((view) => {
        expect(view.epsilonSpent).toBeCloseTo(two.epsilon, 9)
        expect(view.stoppedReason).toBe(stopped.stoppedReason)
      })
  }, 60_000)

  it('runs a round by the round and training settings its owner opened it with on every replica; a PATCH applies from the next round', async () => {
    const a = replicas.find((r) => r.id === 'a') ?? (await replica('a'))
    const b = replicas.find((r) => r.id === 'b') ?? (await replica('b'))
    const rounds = { ...spec().rounds, total: 2, clientsPerRound: 2, minReports: 1 }
    const task = await a.scheduler.createTask(spec({ rounds }))
    await own(a, task.id)
    await seen([a, b], task.id, 1)
    const learningRate = task.train.learningRate
    await b.scheduler.patchTask(task.id, {
      rounds: { clientsPerRound: 4 },
      train: { learningRate: learningRate / 2 },
    })
    // A replica that first sees round 1 after the PATCH: it runs the round as opened all the same.
    const late = await replica('late')
    await seen([late], task.id, 1)
    expect(late.scheduler.getTask(task.id).rounds.clientsPerRound).toBe(4)
    const devices = await enrol(
      a.store,
      Array.from({ length: 9 }, (_, i) => `frozen-${i}`),
    )
    const checkin = (i: number, via: Replica) => via.scheduler.checkin(devices[i]!, request)
    const assigned = [await checkin(0, late), await checkin(1, b)] as Assignment[]
    // The cap as opened (2), on every replica, the one that saw the round late included.
    for (const [i, via] of [late, a, b].entries())
      expect((await checkin(2 + i, via)).type).not.toBe('assignment')
    for (const [i, answer] of assigned.entries()) {
      // The training settings as opened, too, on the replica that saw the round late.
      expect(answer).toMatchObject({ type: 'assignment', round: 1, plan: { learningRate } })
      const result = await (i ? a : late).scheduler.upload({
        device: devices[i]!,
        taskId: task.id,
        round: 1,
        readBody: () => Promise.resolve(update(answer, 700 + i).bytes),
      })
      expect(result.answer.type).toBe('accepted')
    }
    // The target as opened: the owner closes round 1 at two reports.
    expect(await closedRound(a.store, task.id, 1)).toMatchObject({ selected: 2, reported: 2 })
    await seen([a, b, late], task.id, 2)
    // Round 2 takes the PATCH: four selected, on whichever replica.
    for (const [i, via] of [a, b, late, b].entries())
      expect(await checkin(5 + i, via)).toMatchObject({
        type: 'assignment',
        round: 2,
        plan: { learningRate: learningRate / 2 },
      })
    expect((await checkin(2, late)).type).not.toBe('assignment')
    const stored = await a.store.listRounds(task.id)
    expect(stored.find((r) => r.round === 2)?.selected).toBe(4)
    await a.scheduler.deleteTask(task.id)
  }, 60_000)

  it('takes an upload on a replica that has not yet seen the round open (reads the task again)', async () => {
    const a = replicas.find((r) => r.id === 'a') ?? (await replica('a'))
    // Polls once a minute: it knows nothing of the task when the upload comes.
    const slow = await replica('slow', 60_000)
    // Created there: it caches the task before its first round opens (on the owner, a).
    const task = await slow.scheduler.createTask(spec({ rounds: { ...spec().rounds, total: 1 } }))
    await own(a, task.id)
    const [d] = await enrol(a.store, ['slow-0'])
    const u = await report(task.id, d!, a, slow, 600)
    expect(u.examples).toBeGreaterThan(0)
    expect(slow.scheduler.getTask(task.id).round).toBe(1)
  }, 60_000)

  it("takes compressed uploads on either replica by the task's compression, refusing another codec naming it", async () => {
    const a = replicas.find((r) => r.id === 'a') ?? (await replica('a'))
    const b = replicas.find((r) => r.id === 'b') ?? (await replica('b'))
    const rounds = { ...spec().rounds, total: 1, overSelect: 1.25 }
    const task = await b.scheduler.createTask(
      spec({ rounds, compression: { uploads: ['int8', 'bbit1'] } }),
    )
    await own(a, task.id)
    const round = await waitFor('round 1 open', async () =>
      (await roundsOf(a.store, task.id)).find((r) => r.round === 1),
    )
    await waitFor('the replicas to see it', () =>
      Promise.resolve([a, b].every((r) => r.scheduler.getTask(task.id).round === 1) || undefined),
    )
    const devices = await enrol(a.store, ['zip-0', 'zip-1', 'zip-2', 'zip-3', 'zip-4'])
    const only = { ...request, consents: [task.id] } // not the other tests' open rounds
    const refused = (await b.scheduler.checkin(devices[4]!, only)) as Assignment
    expect(refused.compression).toEqual({ uploads: ['int8', 'bbit1'], downloads: ['float32'] })
    const result = await b.scheduler.upload({
      device: devices[4]!,
      taskId: task.id,
      round: 1,
      readBody: () => Promise.resolve(update(refused, 9).bytes),
    })
    expect(result.answer).toMatchObject({ type: 'rejected', field: 'codec' })
    const codecs = ['int8', 'bbit1', 'bbit1', 'int8'] as const
    const accepted: Accepted[] = []
    for (const [i, device] of devices.slice(0, 4).entries()) {
      const answer = (await a.scheduler.checkin(device, only)) as Assignment
      const u = update(answer, 70 + i, codecs[i])
      const upload = await (i % 2 === 0 ? a : b).scheduler.upload({
        device,
        taskId: task.id,
        round: 1,
        readBody: () => Promise.resolve(u.bytes),
      })
      expect(upload.answer.type).toBe('accepted')
      accepted.push(u)
    }
    const closed = await closedRound(a.store, task.id, 1)
    expect(closed).toMatchObject({ status: 'committed', reported: 4, rejected: 1 })
    await expectFedAvg(round.baseModel, closed.model!, accepted)
  }, 60_000)
})
