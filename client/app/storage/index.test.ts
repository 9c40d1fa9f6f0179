import { describe, expect, it } from 'vitest'
import { type Examples, labelHistogram, PIXELS_PER_EXAMPLE } from '../../../shared/data/index.ts'
import type { Assignment } from '../../../shared/protocol/index.ts'
import {
  DB_VERSION,
  deleteAllExamples,
  type DemoSetting,
  type ExampleRecord,
  labelCounts,
  openPollenDB,
  readExamples,
  replaceExamples,
  STORES,
} from './index.ts'
import { testDatabases } from './testing.ts'

/** `count` examples with labels `i % 10` and every pixel of example i equal to i & 255. */
function examples(
  count: number,
  labelOf = (i: number) => i % 10,
): Examples & { features: Uint8Array } {
  const features = new Uint8Array(count * PIXELS_PER_EXAMPLE)
  for (let i = 0; i < count; i++) {
    features.fill(i & 255, i * PIXELS_PER_EXAMPLE, (i + 1) * PIXELS_PER_EXAMPLE)
  }
  return {
    count,
    shape: [28, 28, 1],
    features,
    labels: Uint8Array.from({ length: count }, (_, i) => labelOf(i)),
  }
}

const demo = (count: number): DemoSetting => ({
  key: 'demo',
  dataset: 'mnist',
  kind: 'iid',
  seed: 7,
  count,
  labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  loadedAt: 1,
})

const { open: fresh, name: dbName } = testDatabases('pollen-test')

describe('openPollenDB', () => {
  it('creates every store of the schema, with the examples indexes', async () => {
    const db = await fresh()
    expect([...db.objectStoreNames].sort()).toEqual(Object.values(STORES).sort())
    const tx = db.transaction(STORES.examples)
    expect([...tx.store.indexNames].sort()).toEqual([
      'by-dataset',
      'by-dataset-label',
      'by-dataset-source',
    ])
    expect([...db.transaction(STORES.history).store.indexNames]).toEqual(['by-task'])
  })

  it('round-trips the typed records of the stores used later', async () => {
    const db = await fresh()
    await db.put(STORES.consent, {
      taskId: 't1',
      taskName: 'digits',
      dataset: 'mnist',
      purpose: 'read digits',
      state: 'granted',
      conditions: {
        onlyWhileCharging: true,
        onlyOnUnmeteredNetwork: false,
        onlyWhileVisible: false,
      },
      decidedAt: 5,
    })
    const id = await db.add(STORES.history, {
      taskId: 't1',
      taskName: 'digits',
      round: 3,
      outcome: 'accepted',
      examples: 800,
      steps: 25,
      bytesSent: 796_840,
      backend: 'wasm',
      startedAt: 1,
      finishedAt: 2,
    })
    await db.put(STORES.models, {
      hash: 'ab'.repeat(32),
      bytes: new ArrayBuffer(8),
      taskId: 't1',
      storedAt: 1,
    })
    expect((await db.get(STORES.consent, 't1'))?.state).toBe('granted')
    expect(await db.getAllKeysFromIndex(STORES.history, 'by-task', 't1')).toEqual([id])
    expect((await db.get(STORES.models, 'ab'.repeat(32)))?.bytes.byteLength).toBe(8)
  })
})

describe('replaceExamples', () => {
  it('stores every example with its label and features, and counts them per label', async () => {
    const db = await fresh()
    const d = examples(25)
    expect(await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: d })).toBe(25)
    expect(await labelCounts(db, 'mnist', 10)).toEqual(labelHistogram(d, 10))
    const back = await readExamples(db, 'mnist')
    expect(back.count).toBe(25)
    expect(Array.from(back.labels)).toEqual(Array.from(d.labels))
    expect(back.features).toEqual(d.features)
    expect(back.shape).toEqual([28, 28, 1])
  })

  it('replaces only the same source in the same dataset, and writes the setting with them', async () => {
    const db = await fresh()
    await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: examples(20) })
    await replaceExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples(3, () => 7) })
    await replaceExamples(db, { dataset: 'other', source: 'demo', examples: examples(4) })
    await replaceExamples(db, {
      dataset: 'mnist',
      source: 'demo',
      examples: examples(5, () => 2),
      setting: demo(5),
    })
    const counts = await labelCounts(db, 'mnist', 10)
    expect(counts[2]).toBe(5)
    expect(counts[7]).toBe(3)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(8)
    expect((await readExamples(db, 'other')).count).toBe(4)
    expect(await db.get(STORES.settings, 'demo')).toEqual(demo(5))
  })

  it('writes nothing when it fails half-way: one transaction', async () => {
    const db = await fresh()
    await replaceExamples(db, {
      dataset: 'mnist',
      source: 'demo',
      examples: examples(10),
      setting: demo(10),
    })
    const bad = examples(30)
    let slices = 0
    const slice = bad.features.slice.bind(bad.features)
    bad.features.slice = (start?: number, end?: number) => {
      if (++slices === 12) throw new Error('the phone ran out of memory')
      return slice(start, end)
    }
    await expect(
      replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: bad, setting: demo(30) }),
    ).rejects.toThrow('ran out of memory')
    expect(await labelCounts(db, 'mnist', 10)).toEqual(Array(10).fill(1))
    expect(await db.get(STORES.settings, 'demo')).toEqual(demo(10))
  })

  it('refuses inconsistent examples before touching the store', async () => {
    const db = await fresh()
    await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: examples(10) })
    const broken = { ...examples(3), labels: Uint8Array.of(1, 2) }
    await expect(
      replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: broken }),
    ).rejects.toThrow(RangeError)
    expect((await readExamples(db, 'mnist')).count).toBe(10)
  })
})

describe('deleteAllExamples', () => {
  it('deletes every example, checkpoints, unsent updates and the demo record; keeps consent and history', async () => {
    const db = await fresh()
    await replaceExamples(db, {
      dataset: 'mnist',
      source: 'demo',
      examples: examples(12),
      setting: demo(12),
    })
    await replaceExamples(db, { dataset: 'other', source: 'drawn', examples: examples(2) })
    const assignment: Assignment = {
      type: 'assignment',
      taskId: 't1',
      round: 1,
      dataset: 'mnist',
      model: { spec: { preset: 'mnist-2nn' }, hash: 'ab'.repeat(32), url: '/m' },
      plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
      deadline: new Date(10).toISOString(),
      uploadUrl: '/u',
    }
    await db.put(STORES.checkpoints, {
      taskId: 't1',
      taskName: 'digits',
      assignment,
      exampleCount: 12,
      checkpoint: {
        step: 2,
        totalSteps: 4,
        seed: 1,
        weights: [],
        optimizer: [],
        examples: 20,
        lossSum: 2,
        lossCount: 20,
      },
      backend: 'wasm',
      startedAt: 1,
      savedAt: 1,
    })
    await db.put(STORES.uploads, {
      key: 't1/1',
      taskId: 't1',
      taskName: 'digits',
      round: 1,
      uploadUrl: '/u',
      deadlineAt: 10,
      body: new ArrayBuffer(8),
      examples: 12,
      steps: 2,
      backend: 'wasm',
      startedAt: 1,
      queuedAt: 2,
      attempts: 1,
      claimedUntil: 0,
    })
    await db.put(STORES.consent, {
      taskId: 't1',
      taskName: 'digits',
      dataset: 'mnist',
      purpose: 'p',
      state: 'paused',
      conditions: {
        onlyWhileCharging: false,
        onlyOnUnmeteredNetwork: false,
        onlyWhileVisible: true,
      },
      decidedAt: 1,
    })
    await db.put(STORES.residuals, { taskId: 't1', round: 1, tensors: [], savedAt: 1 })
    expect(await deleteAllExamples(db)).toBe(14)
    expect(await db.count(STORES.examples)).toBe(0)
    expect(await db.count(STORES.checkpoints)).toBe(0)
    expect(await db.count(STORES.residuals)).toBe(0)
    expect(await db.count(STORES.uploads)).toBe(0)
    expect(await db.get(STORES.settings, 'demo')).toBeUndefined()
    expect(await db.count(STORES.consent)).toBe(1)
    expect(await labelCounts(db, 'mnist', 10)).toEqual(Array(10).fill(0))
  })

  it('survives reopening: deleted is deleted', async () => {
    const name = dbName('reopen')
    const db = await openPollenDB({ name })
    await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: examples(5) })
    await deleteAllExamples(db)
    db.close()
    const again = await fresh(name)
    expect(await again.count(STORES.examples)).toBe(0)
  })
})

describe('version 5', () => {
  it('gives the digits a version 4 database stored the shape [28, 28, 1], keeping every byte', async () => {
    expect(DB_VERSION).toBeGreaterThanOrEqual(5)
    const name = dbName('shape')
    const old = await fresh(name, 4)
    const pixels = Uint8Array.from({ length: 784 }, (_, i) => i % 251)
    // As versions 1 to 4 stored a digit: its bytes as `pixels`, no shape.
    const legacy = { dataset: 'mnist', label: 7, pixels, source: 'drawn', addedAt: 3 }
    const id = await old.add(STORES.examples, legacy as unknown as ExampleRecord)
    await old.add(STORES.examples, { ...legacy, label: 2 } as unknown as ExampleRecord)
    old.close()

    const db = await fresh(name)
    expect(db.version).toBe(DB_VERSION)
    const record = await db.get(STORES.examples, id)
    expect(record).toEqual({
      id,
      dataset: 'mnist',
      label: 7,
      shape: [28, 28, 1],
      features: pixels,
      source: 'drawn',
      addedAt: 3,
    })
    expect(record).not.toHaveProperty('pixels')
    const back = await readExamples(db, 'mnist')
    expect(back.shape).toEqual([28, 28, 1])
    expect(Array.from(back.labels)).toEqual([7, 2])
    expect(back.features.subarray(784)).toEqual(pixels)
    // And they take new digits beside them.
    await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: examples(3) })
    expect((await readExamples(db, 'mnist')).count).toBe(5)
  })
})
