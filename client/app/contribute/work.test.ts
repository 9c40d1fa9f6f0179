import { describe, expect, it } from 'vitest'
import { addExamples, replaceExamples, STORES } from '../storage/index.ts'
import { type ConditionSignals, NO_CONDITIONS } from '../tasks/conditions.ts'
import { createConsentStore } from '../tasks/consent.ts'
import { assignmentFor, freshDb, taskView } from './testing.ts'
import { consentsReady, findWork, idleWhy } from './work.ts'

const digits = (count: number) => ({
  count,
  shape: [28, 28, 1],
  features: new Uint8Array(784 * count),
  labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
})
const signals = (over: Partial<ConditionSignals> = {}) => ({
  read: () => ({ charging: null, unmetered: null, visible: true, ...over }),
  subscribe: () => () => {},
})

async function phone(over: Partial<ConditionSignals> = {}) {
  const db = await freshDb()
  const consents = createConsentStore({ db })
  const conditions = signals(over)
  const sources = { db, consents, conditions, over: () => false, now: Date.now }
  return { db, consents, conditions, sources }
}

describe('finding work', () => {
  it('is idle with nothing joined, and names the conditions that do not hold', async () => {
    const p = await phone({ charging: false })
    expect(await findWork(p.sources)).toEqual({
      type: 'idle',
      fallback: 'Nothing to train: join a task below to contribute.',
    })
    await p.consents.join(taskView('t1'), { ...NO_CONDITIONS, onlyWhileCharging: true })
    expect(await consentsReady(p.consents, p.conditions)).toEqual([])
    expect(await findWork(p.sources)).toEqual({
      type: 'waiting',
      reason: 'Waiting: the phone is not charging.',
    })
    // A task that ended is no work, though its consent stays.
    expect(await findWork({ ...p.sources, over: () => true })).toMatchObject({ type: 'idle' })
    p.db.close()
  })

  it('picks the first agreed dataset whose examples are stored', async () => {
    const p = await phone()
    await p.consents.join(taskView('a', 'empty'), NO_CONDITIONS)
    await p.consents.join(taskView('b', 'mnist'), NO_CONDITIONS)
    expect(await findWork(p.sources)).toMatchObject({ type: 'idle', fallback: /no examples/ })
    await replaceExamples(p.db, { dataset: 'mnist', source: 'demo', examples: digits(20) })
    const work = await findWork(p.sources)
    expect(work).toMatchObject({ type: 'work', dataset: 'mnist', examples: { count: 20 } })
    expect(work.type === 'work' && work.saved).toBeFalsy()
    p.db.close()
  })

  it("hands the task's dataset on in its own shape: photos, not the digits beside them", async () => {
    const p = await phone()
    await p.consents.join(taskView('c', 'crops'), NO_CONDITIONS)
    await replaceExamples(p.db, { dataset: 'mnist', source: 'demo', examples: digits(20) })
    const photos = {
      count: 3,
      shape: [32, 32, 3],
      features: Uint8Array.from({ length: 3 * 3072 }, (_, i) => i % 256),
      labels: Uint8Array.of(0, 2, 1),
    }
    await addExamples(p.db, { dataset: 'crops', source: 'camera', examples: photos, classes: 3 })
    const work = await findWork(p.sources)
    expect(work).toMatchObject({ type: 'work', dataset: 'crops' })
    if (work.type !== 'work') throw new Error('no work')
    expect(work.examples.shape).toEqual([32, 32, 3])
    expect(work.examples.features).toEqual(photos.features)
    expect(Array.from(work.examples.labels)).toEqual([0, 2, 1])
    p.db.close()
  })

  it('resumes a saved round, but not a secure one (its keys died with the page)', async () => {
    const p = await phone()
    await p.consents.join(taskView('t1'), NO_CONDITIONS)
    await replaceExamples(p.db, { dataset: 'mnist', source: 'demo', examples: digits(20) })
    const saved = (assignment = assignmentFor('t1')) => ({
      taskId: 't1',
      taskName: 'task t1',
      assignment,
      exampleCount: 20,
      checkpoint: {
        step: 1,
        totalSteps: 2,
        seed: 1,
        weights: [],
        optimizer: [],
        examples: 10,
        lossSum: 1,
        lossCount: 10,
      },
      backend: 'wasm' as const,
      startedAt: 1,
      savedAt: 1,
    })
    await p.db.put(STORES.checkpoints, saved())
    expect(await findWork(p.sources)).toMatchObject({ type: 'work', saved: { taskId: 't1' } })
    await p.db.put(
      STORES.checkpoints,
      saved(assignmentFor('t1', { secureAggregation: { url: '/s' } })),
    )
    const work = await findWork(p.sources)
    expect(work.type === 'work' && work.saved).toBeFalsy()
    expect(await p.db.count(STORES.checkpoints)).toBe(0)
    p.db.close()
  })
})

describe('saying why the phone is idle', () => {
  it('from what the phone knows, else from the fallback it was given', async () => {
    const p = await phone()
    const list = () => Promise.resolve([taskView('t1')])
    expect(await idleWhy(p.sources, list, 'because')).toMatch(/you have not joined a task/)
    await p.consents.join(taskView('t1'), NO_CONDITIONS)
    expect(await idleWhy(p.sources, list, 'because')).toMatch(/needs examples of the dataset/)
    await replaceExamples(p.db, { dataset: 'mnist', source: 'demo', examples: digits(10) })
    expect(await idleWhy(p.sources, list, 'because')).toBe('because')
    p.db.close()
  })
})
