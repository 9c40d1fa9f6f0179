import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MNIST_DATASET, type DatasetSpec } from '../../shared/protocol/index.ts'
import { fileBlobStore } from '../blobs/index.ts'
import { postgresBlobStore } from '../blobs/postgres.ts'
import { createVirtualClock, systemClock } from '../clock/index.ts'
import { pgliteStore, type Store } from '../store/index.ts'
import { postgresStore } from '../store/postgres.ts'
import { freshDatabase, type FreshDatabase } from '../store/testing-pg.ts'
import { createDatasets, type Datasets } from './registry.ts'

const FLOWERS: DatasetSpec = {
  name: 'flowers',
  description: 'Photos of flowers',
  tags: ['images'],
  features: { kind: 'image', height: 2, width: 2, channels: 3 },
  classes: ['rose', 'tulip', 'daisy'],
  deviceLabelling: true,
}

const images = (labels: number[], fill = 1) => ({
  count: labels.length,
  shape: [2, 2, 3],
  features: new Uint8Array(labels.length * 12).fill(fill),
  labels: Uint8Array.from(labels),
})

async function setup(store?: Store) {
  const blobDir = await mkdtemp(join(tmpdir(), 'pollen-datasets-'))
  const db = store ?? (await pgliteStore('memory://'))
  const clock = createVirtualClock(1_000)
  const blobs = fileBlobStore(blobDir)
  const datasets = createDatasets({ store: db, blobs, clock })
  return { db, blobs, blobDir, clock, datasets }
}

describe('datasets', () => {
  it('declares the built-in ones with their held-out set once, and reads them back', async () => {
    const { db, blobs, clock, datasets } = await setup()
    const digits = {
      count: 2,
      shape: [28, 28, 1],
      features: new Uint8Array(1568),
      labels: Uint8Array.from([3, 3]),
    }
    await datasets.start([{ spec: MNIST_DATASET, heldOut: digits }])
    expect(datasets.spec('mnist')).toEqual(MNIST_DATASET)
    expect(datasets.heldOut('mnist')).toMatchObject({
      examples: 2,
      labels: [0, 0, 0, 2, 0, 0, 0, 0, 0, 0],
    })
    // A second coordinator on the same store finds it declared and declares nothing.
    const again = createDatasets({ store: db, blobs, clock })
    await again.start([{ spec: { ...MNIST_DATASET, description: 'changed' } }])
    expect(again.spec('mnist')?.description).toBe(MNIST_DATASET.description)
    expect(await again.examples('mnist')).toEqual(digits)
  })

  it('starts beside another registry on one store: one declares the built-in, both hold it', async () => {
    const first = await setup()
    const second = await setup(first.db)
    const digits = {
      count: 1,
      shape: [28, 28, 1],
      features: new Uint8Array(784),
      labels: Uint8Array.from([7]),
    }
    const builtIn = [{ spec: MNIST_DATASET, heldOut: digits }]
    await Promise.all([first.datasets.start(builtIn), second.datasets.start(builtIn)])
    expect(await first.db.listDatasets()).toHaveLength(1)
    for (const { datasets } of [first, second])
      expect(datasets.heldOut('mnist')).toMatchObject({ examples: 1 })
  })

  it('refuses a second declaration of a name, and keeps features and classes through a patch', async () => {
    const { datasets, clock } = await setup()
    await datasets.create(FLOWERS)
    await expect(datasets.create({ ...FLOWERS, classes: ['a', 'b'] })).rejects.toMatchObject({
      code: 'conflict',
      field: 'name',
    })
    clock.advance(5)
    const patched = await datasets.patch('flowers', { description: 'petals', tags: [] })
    expect(patched.spec).toEqual({ ...FLOWERS, description: 'petals', tags: [] })
    expect(patched.updatedAt).toBe(1_005)
    await expect(datasets.patch('nope', { tags: [] })).rejects.toMatchObject({ code: 'not_found' })
  })

  it('replaces a held-out set, removing the old blob unless another dataset holds it', async () => {
    const { datasets, blobDir } = await setup()
    await datasets.create(FLOWERS)
    await datasets.create({ ...FLOWERS, name: 'flowers-2' })
    const first = await datasets.setHeldOut('flowers', images([0, 1, 1]))
    await datasets.setHeldOut('flowers-2', images([0, 1, 1]))
    expect(first.heldOut?.labels).toEqual([1, 2, 0])
    const second = await datasets.setHeldOut('flowers', images([2], 9))
    expect(second.heldOut?.hash).not.toBe(first.heldOut?.hash)
    // flowers-2 still holds the first set's bytes: the blob stays.
    expect((await readdir(blobDir)).sort()).toEqual(
      [first.heldOut!.hash, second.heldOut!.hash].sort(),
    )
    expect((await datasets.examples('flowers'))?.features[0]).toBe(9)
    await datasets.clearHeldOut('flowers-2')
    expect(await readdir(blobDir)).toEqual([second.heldOut!.hash])
    expect(await datasets.examples('flowers-2')).toBeUndefined()
    await expect(datasets.clearHeldOut('flowers-2')).rejects.toMatchObject({ code: 'not_found' })
  })

  it('refuses to delete a dataset a task uses; a delete removes its held-out blob', async () => {
    const { datasets, blobDir, db } = await setup()
    await datasets.create(FLOWERS)
    await datasets.setHeldOut('flowers', images([0]))
    const used = datasets.remove('flowers', () => ['task-1'])
    await expect(used).rejects.toMatchObject({ code: 'conflict' })
    await expect(used).rejects.toThrow(/used by 1 task\(s\) \(task-1\)/)
    expect(datasets.spec('flowers')).toBeDefined()
    await datasets.remove('flowers', () => [])
    expect(datasets.spec('flowers')).toBeUndefined()
    expect(await db.getDataset('flowers')).toBeUndefined()
    expect(await readdir(blobDir)).toEqual([])
  })

  it('refuses a set that does not fit the dataset as declared now', async () => {
    const { datasets, blobDir } = await setup()
    await datasets.create(FLOWERS)
    const wrongShape = { ...images([0]), shape: [12] }
    await expect(datasets.setHeldOut('flowers', wrongShape)).rejects.toMatchObject({
      code: 'conflict',
    })
    await expect(datasets.setHeldOut('flowers', images([3]))).rejects.toThrow(/upload it again/)
    expect(datasets.heldOut('flowers')).toBeNull()
    expect(await readdir(blobDir)).toEqual([])
  })

  it('changes nothing when the store refuses the write', async () => {
    const base = await pgliteStore('memory://')
    const failing: Store = {
      ...base,
      updateDataset: () => Promise.reject(new Error('disk full')),
    }
    const { datasets } = await setup(failing)
    await datasets.create(FLOWERS)
    await expect(datasets.setHeldOut('flowers', images([0]))).rejects.toThrow('disk full')
    expect(datasets.heldOut('flowers')).toBeNull()
    expect(await datasets.examples('flowers')).toBeUndefined()
    await expect(datasets.patch('flowers', { tags: ['x'] })).rejects.toThrow('disk full')
    expect(datasets.spec('flowers')?.tags).toEqual(['images'])
  })
})

describe('datasets on replicas (one PostgreSQL database)', () => {
  let db: FreshDatabase
  const pools: pg.Pool[] = []
  const started: Datasets[] = []
  beforeAll(async () => {
    db = await freshDatabase('datasets_replicas')
  })
  afterAll(async () => {
    for (const datasets of started) datasets.stop()
    for (const pool of pools) await pool.end()
    await db.drop()
  })

  /** A replica's registry: its own pool on the database, whose blobs every replica shares. */
  async function replica(pollMs = 60_000) {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 })
    // The drop at the end ends connections the pool is closing: not the test's failure.
    pool.on('error', () => {})
    pools.push(pool)
    const store = await postgresStore(pool)
    const blobs = postgresBlobStore(pool)
    const datasets = createDatasets({ store, blobs, clock: systemClock, shared: { pollMs } })
    started.push(datasets)
    await datasets.start()
    return { datasets, pool }
  }

  async function until(what: string, probe: () => boolean) {
    for (const end = Date.now() + 5000; !probe(); await new Promise((r) => setTimeout(r, 10)))
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
  }

  it('declared on one, read at once on another; its held-out set there is the one uploaded; deleted, refused', async () => {
    // Polls once a minute: what it knows of another's change it reads when asked.
    const { datasets: a } = await replica()
    const { datasets: b } = await replica()
    await a.create(FLOWERS)
    expect((await b.current('flowers'))?.spec).toEqual(FLOWERS)
    expect((await b.lookup('flowers'))?.spec).toEqual(FLOWERS)
    expect(b.spec('flowers')).toEqual(FLOWERS)
    // Declared again on the other: a conflict, as on one coordinator.
    await expect(a.create(FLOWERS)).rejects.toMatchObject({ code: 'conflict', field: 'name' })
    await b.setHeldOut('flowers', images([0, 1]))
    expect(await a.examples('flowers')).toEqual(images([0, 1]))
    await a.setHeldOut('flowers', images([2], 9))
    expect((await b.fresh('flowers')).heldOut).toMatchObject({ examples: 1, labels: [0, 0, 1] })
    expect((await b.examples('flowers'))?.features[0]).toBe(9)
    await b.patch('flowers', { description: 'petals' })
    expect((await a.fresh('flowers')).spec.description).toBe('petals')
    await a.remove('flowers', () => [])
    expect(await b.current('flowers')).toBeUndefined()
    expect(b.spec('flowers')).toBeUndefined()
    await expect(b.fresh('flowers')).rejects.toMatchObject({ code: 'not_found', field: 'name' })
    await expect(b.setHeldOut('flowers', images([0]))).rejects.toMatchObject({ code: 'not_found' })
    expect(await b.examples('flowers')).toBeUndefined()
  })

  it('declared on one, declared on another that has not seen it: a conflict, not a database error', async () => {
    const { datasets: a } = await replica()
    const { datasets: b } = await replica()
    await a.create({ ...FLOWERS, name: 'raced' })
    await expect(b.create({ ...FLOWERS, name: 'raced' })).rejects.toMatchObject({
      code: 'conflict',
    })
    // Both at once: one declares it.
    const both = await Promise.allSettled(
      [a, b].map((d) => d.create({ ...FLOWERS, name: 'raced-2' })),
    )
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'conflict' },
    })
  })

  it("learns of another replica's declaration and delete within a poll", async () => {
    const { datasets: a } = await replica()
    const { datasets: b } = await replica(20)
    await a.create({ ...FLOWERS, name: 'polled' })
    await until('the poll to bring it', () => b.spec('polled') !== undefined)
    expect(b.heldOut('polled')).toBeNull()
    await a.setHeldOut('polled', images([1]))
    await until('the poll to bring its set', () => b.heldOut('polled') !== null)
    await a.remove('polled', () => [])
    await until('the poll to drop it', () => b.spec('polled') === undefined)
    expect((await b.list()).map((r) => r.name)).not.toContain('polled')
  })

  it('keeps a held-out blob that a dataset declared on another replica holds', async () => {
    const { datasets: a, pool } = await replica()
    const { datasets: b } = await replica()
    await a.create({ ...FLOWERS, name: 'mine' })
    await b.create({ ...FLOWERS, name: 'theirs' })
    const { heldOut } = await b.setHeldOut('theirs', images([0, 2]))
    await a.setHeldOut('mine', images([0, 2]))
    await a.remove('mine', () => [])
    const { rows } = await pool.query('select hash from blobs where hash = $1', [heldOut!.hash])
    expect(rows).toHaveLength(1)
    expect(await b.examples('theirs')).toEqual(images([0, 2]))
  })
})
