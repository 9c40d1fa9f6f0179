import { describe, expect, it } from 'vitest'
import { type Examples, PIXELS_PER_EXAMPLE } from '../../../shared/data/index.ts'
import {
  addExamples,
  countsByDataset,
  deleteDataset,
  INDEXES,
  labelCounts,
  readExamples,
  replaceExamples,
  STORES,
} from './index.ts'
import { testDatabases } from './testing.ts'

const examples = (labels: number[]): Examples & { features: Uint8Array } => ({
  count: labels.length,
  shape: [28, 28, 1],
  features: new Uint8Array(labels.length * PIXELS_PER_EXAMPLE).fill(9),
  labels: Uint8Array.from(labels),
})

const { open: fresh } = testDatabases('pollen-add-test')

describe('addExamples', () => {
  it('adds beside what is stored, keeping the demo digits and earlier drawings', async () => {
    const db = await fresh()
    await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: examples([1, 2]) })
    await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([7]), now: 5 })
    expect(
      await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([7, 3]) }),
    ).toBe(2)
    await addExamples(db, { dataset: 'mnist', source: 'imported', examples: examples([0]) })
    expect(await labelCounts(db, 'mnist', 10)).toEqual([1, 1, 1, 1, 0, 0, 0, 2, 0, 0])
    const drawn = await db.getAllFromIndex(
      STORES.examples,
      INDEXES.byDatasetSource,
      IDBKeyRange.only(['mnist', 'drawn']),
    )
    expect(drawn.map((r) => r.label)).toEqual([7, 7, 3])
    expect(drawn[0]).toMatchObject({ dataset: 'mnist', source: 'drawn', addedAt: 5 })
    expect(drawn[0]!.features).toHaveLength(PIXELS_PER_EXAMPLE)
    expect(drawn[0]!.shape).toEqual([28, 28, 1])
  })

  it('stores none of a batch when one write fails', async () => {
    const db = await fresh()
    await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([4]) })
    const batch = examples([5, 6, 8])
    let slices = 0
    const slice = batch.features.slice.bind(batch.features)
    batch.features.slice = (start?: number, end?: number) => {
      if (++slices === 3) throw new Error('out of memory')
      return slice(start, end)
    }
    await expect(
      addExamples(db, { dataset: 'mnist', source: 'imported', examples: batch }),
    ).rejects.toThrow('out of memory')
    expect(await labelCounts(db, 'mnist', 10)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
  })

  it('refuses a label outside the classes before touching the store', async () => {
    const db = await fresh()
    await expect(
      addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([10]), classes: 10 }),
    ).rejects.toThrow("examples for 'mnist': label 10 at 0 is not 0..9")
    expect(await db.count(STORES.examples)).toBe(0)
  })
})

/** `labels.length` photos of `shape`, example i's bytes all i + 1. */
const photos = (shape: number[], labels: number[]): Examples => {
  const size = shape.reduce((a, b) => a * b, 1)
  const features = new Uint8Array(labels.length * size)
  labels.forEach((_, i) => features.fill(i + 1, i * size, (i + 1) * size))
  return { count: labels.length, shape, features, labels: Uint8Array.from(labels) }
}

/** Tabular rows of `columns` float32 values, row i's values i + 0.25, i + 0.5, … */
const rows = (columns: number, labels: number[]): Examples => ({
  count: labels.length,
  shape: [columns],
  features: Float32Array.from(
    { length: labels.length * columns },
    (_, k) => Math.floor(k / columns) + 0.25 * ((k % columns) + 1),
  ),
  labels: Uint8Array.from(labels),
})

describe('examples of any shape', () => {
  it('keeps each dataset in its own shape: bytes for images, float32 for tabular', async () => {
    const db = await fresh()
    const rgb = photos([32, 32, 3], [0, 2, 1, 2])
    const table = rows(5, [1, 0, 1])
    await addExamples(db, { dataset: 'crops', source: 'camera', examples: rgb, classes: 3 })
    await addExamples(db, { dataset: 'sensors', source: 'imported', examples: table })
    await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([4]) })

    const crops = await readExamples(db, 'crops')
    expect(crops.shape).toEqual([32, 32, 3])
    expect(crops.features).toBeInstanceOf(Uint8Array)
    expect(crops.features).toEqual(rgb.features)
    const sensors = await readExamples(db, 'sensors')
    expect(sensors.shape).toEqual([5])
    expect(sensors.features).toBeInstanceOf(Float32Array)
    expect(Array.from(sensors.features.subarray(5, 10))).toEqual([1.25, 1.5, 1.75, 2, 2.25])
    expect(Array.from(sensors.labels)).toEqual([1, 0, 1])
    expect(await readExamples(db, 'none')).toMatchObject({ count: 0 })
  })

  it("refuses examples whose shape or kind differs from the dataset's, naming both", async () => {
    const db = await fresh()
    await addExamples(db, {
      dataset: 'crops',
      source: 'camera',
      examples: photos([32, 32, 3], [0]),
    })
    await expect(
      addExamples(db, { dataset: 'crops', source: 'imported', examples: photos([28, 28, 1], [1]) }),
    ).rejects.toThrow(
      "dataset 'crops' holds examples of shape [32, 32, 3] (bytes); these are [28, 28, 1] (bytes)",
    )
    await expect(
      addExamples(db, { dataset: 'crops', source: 'imported', examples: rows(3072, [1]) }),
    ).rejects.toThrow('these are [3072] (float32 values)')
    await expect(
      replaceExamples(db, { dataset: 'crops', source: 'demo', examples: photos([2, 2, 3], [1]) }),
    ).rejects.toThrow(/holds examples of shape \[32, 32, 3\]/)
    expect(await db.count(STORES.examples)).toBe(1)
    // Replacing a source's examples with another shape is fine when nothing else is held.
    await replaceExamples(db, {
      dataset: 'other',
      source: 'demo',
      examples: photos([2, 2, 3], [1]),
    })
    await replaceExamples(db, { dataset: 'other', source: 'demo', examples: photos([4], [0, 1]) })
    expect((await readExamples(db, 'other')).shape).toEqual([4])
  })

  it('refuses non-finite float features and a bad shape before touching the store', async () => {
    const db = await fresh()
    const table = rows(3, [0, 1])
    table.features[4] = Number.NaN
    await expect(
      addExamples(db, { dataset: 'sensors', source: 'imported', examples: table }),
    ).rejects.toThrow(
      "examples for 'sensors': example 1 has value NaN at 1; features must be finite",
    )
    await expect(
      addExamples(db, {
        dataset: 'sensors',
        source: 'imported',
        examples: { ...rows(3, [0]), shape: [0, 3] },
      }),
    ).rejects.toThrow(/shape must be 1 to 4 positive integers, got \[0,3\]/)
    expect(await db.count(STORES.examples)).toBe(0)
  })

  it('counts per class per dataset, never reading the examples', async () => {
    const db = await fresh()
    expect(await countsByDataset(db)).toEqual(new Map())
    await addExamples(db, {
      dataset: 'crops',
      source: 'camera',
      examples: photos([8, 8, 3], [2, 0, 2]),
    })
    await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([9, 9, 1]) })
    await addExamples(db, { dataset: 'sensors', source: 'imported', examples: rows(4, [0]) })
    expect(await countsByDataset(db)).toEqual(
      new Map([
        ['crops', { examples: 3, labels: [1, 0, 2], shape: [8, 8, 3] }],
        ['mnist', { examples: 3, labels: [0, 1, 0, 0, 0, 0, 0, 0, 0, 2], shape: [28, 28, 1] }],
        ['sensors', { examples: 1, labels: [1], shape: [4] }],
      ]),
    )
    expect(await labelCounts(db, 'crops', 4)).toEqual([1, 0, 2, 0])
  })

  it('deletes one dataset with the checkpoints and unsent updates of its tasks, and nothing else', async () => {
    const db = await fresh()
    await addExamples(db, {
      dataset: 'crops',
      source: 'camera',
      examples: photos([8, 8, 3], [0, 1]),
    })
    await replaceExamples(db, {
      dataset: 'mnist',
      source: 'demo',
      examples: examples([1, 2, 3]),
      setting: {
        key: 'demo',
        dataset: 'mnist',
        kind: 'iid',
        seed: 1,
        count: 3,
        labels: [1, 2, 3],
        loadedAt: 1,
      },
    })
    const consent = (taskId: string, dataset: string) =>
      db.put(STORES.consent, {
        taskId,
        taskName: taskId,
        dataset,
        purpose: 'p',
        state: 'granted',
        conditions: {
          onlyWhileCharging: false,
          onlyOnUnmeteredNetwork: false,
          onlyWhileVisible: false,
        },
        decidedAt: 1,
      })
    const upload = (taskId: string) =>
      db.put(STORES.uploads, {
        key: `${taskId}/1`,
        taskId,
        taskName: taskId,
        round: 1,
        uploadUrl: '/u',
        deadlineAt: 10,
        body: new ArrayBuffer(8),
        examples: 2,
        steps: 1,
        backend: 'wasm',
        startedAt: 1,
        queuedAt: 2,
        attempts: 0,
        claimedUntil: 0,
      })
    const residual = (taskId: string) =>
      db.put(STORES.residuals, { taskId, round: 1, tensors: [], savedAt: 1 })
    const checkpoint = (taskId: string, dataset: string) =>
      db.put(STORES.checkpoints, {
        taskId,
        taskName: taskId,
        assignment: {
          type: 'assignment',
          taskId,
          round: 1,
          dataset,
          model: { spec: { preset: 'mnist-2nn' }, hash: 'ab'.repeat(32), url: '/m' },
          plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
          deadline: new Date(10).toISOString(),
          uploadUrl: '/u',
        },
        exampleCount: 2,
        checkpoint: {
          step: 1,
          totalSteps: 2,
          seed: 1,
          weights: [],
          optimizer: [],
          examples: 2,
          lossSum: 1,
          lossCount: 2,
        },
        backend: 'wasm',
        startedAt: 1,
        savedAt: 1,
      })
    await Promise.all([
      consent('on-crops', 'crops'),
      consent('on-mnist', 'mnist'),
      upload('on-crops'),
      upload('on-mnist'),
      checkpoint('on-crops', 'crops'),
      checkpoint('on-mnist', 'mnist'),
      residual('on-crops'),
      residual('on-mnist'),
    ])

    expect(await deleteDataset(db, 'crops')).toBe(2)
    expect([...(await countsByDataset(db)).keys()]).toEqual(['mnist'])
    expect(await db.getAllKeys(STORES.uploads)).toEqual(['on-mnist/1'])
    expect(await db.getAllKeys(STORES.checkpoints)).toEqual(['on-mnist'])
    expect(await db.getAllKeys(STORES.residuals)).toEqual(['on-mnist'])
    expect(await db.count(STORES.consent)).toBe(2)
    expect(await db.get(STORES.settings, 'demo')).toBeDefined()

    expect(await deleteDataset(db, 'mnist')).toBe(3)
    expect(await db.count(STORES.examples)).toBe(0)
    expect(await db.count(STORES.uploads)).toBe(0)
    expect(await db.count(STORES.checkpoints)).toBe(0)
    expect(await db.count(STORES.residuals)).toBe(0)
    expect(await db.get(STORES.settings, 'demo')).toBeUndefined()
    expect(await deleteDataset(db, 'mnist')).toBe(0)
  })
})
