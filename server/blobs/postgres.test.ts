import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate, postgresDatabase } from '../store/index.ts'
import { freshDatabase, testPool } from '../store/testing-pg.ts'
import { blobStoreSuite } from './blobs.case.ts'
import { postgresBlobStore } from './postgres.ts'

let database: Awaited<ReturnType<typeof freshDatabase>>
let pool: pg.Pool

beforeAll(async () => {
  database = await freshDatabase('blobs')
  pool = testPool(database.url, 4)
  await migrate(postgresDatabase(pool))
})
afterAll(async () => {
  await pool?.end()
  await database?.drop()
})

blobStoreSuite('PostgreSQL', () =>
  Promise.resolve({
    blobs: postgresBlobStore(pool),
    corrupt: async (hash, bytes) => {
      await pool.query('update blobs set bytes = $2 where hash = $1', [hash, Buffer.from(bytes)])
    },
  }),
)

describe('PostgreSQL blob store', () => {
  it('is one row per blob, stored uncompressed out of line', async () => {
    const blobs = postgresBlobStore(pool)
    const bytes = new Uint8Array(100_000).fill(7) // compressible: stays whole all the same
    const hash = await blobs.put(bytes)
    await blobs.put(bytes)
    const { rows } = await pool.query<{ n: string; stored: number }>(
      'select count(*) as n, max(pg_column_size(bytes)) as stored from blobs where hash = $1',
      [hash],
    )
    expect(rows[0]).toEqual({ n: '1', stored: 100_000 })
  })

  it('serves a blob it has read from memory, and reads again past its budget', async () => {
    const blobs = postgresBlobStore(pool, { cacheBytes: 150 })
    const a = await blobs.put(new Uint8Array(100).fill(1))
    const b = await blobs.put(new Uint8Array(100).fill(2))
    await blobs.get(a)
    // Gone from the table, still served: blobs never change, so a remembered one is never stale.
    await pool.query('delete from blobs where hash = $1', [a])
    expect((await blobs.get(a))?.[0]).toBe(1)
    await blobs.get(b) // over the budget: a is the least recent, and is forgotten
    expect(await blobs.get(a)).toBeUndefined()
    expect((await blobs.get(b))?.[0]).toBe(2)
  })

  it('gives its connection back after a read, and after a read the database refused', async () => {
    const blobs = postgresBlobStore(pool, { cacheBytes: 0 })
    const hash = await blobs.put(new Uint8Array([1, 2, 3]))
    await pool.query('alter table blobs rename to blobs_away')
    try {
      await expect(blobs.get(hash)).rejects.toThrow(/blobs/)
    } finally {
      await pool.query('alter table blobs_away rename to blobs')
    }
    expect([...((await blobs.get(hash)) ?? [])]).toEqual([1, 2, 3])
    expect(pool.idleCount).toBe(pool.totalCount)
  })

  it('fails a read whose connection is cut, and goes on', async () => {
    const blobs = postgresBlobStore(pool, { cacheBytes: 0 })
    const hash = await blobs.put(new Uint8Array(randomBytes(20_000_000)))
    const read = blobs.get(hash)
    read.catch(() => {}) // judged below
    // Cut the copy's connection once the server runs it (a 20 MB copy: a few hundred ms).
    let cut = 0
    for (let tries = 0; cut === 0 && tries < 400; tries++) {
      const { rowCount } = await pool.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and state = 'active' and query ilike 'copy%'`,
      )
      cut = rowCount ?? 0
    }
    expect(cut).toBe(1)
    await expect(read).rejects.toThrow(/terminat|Connection/i)
    expect((await blobs.get(hash))?.byteLength).toBe(20_000_000)
  })

  it('refuses a row whose key is not a hash', async () => {
    await expect(
      pool.query("insert into blobs (hash, bytes) values ('../x', '\\x00')"),
    ).rejects.toThrow(/check constraint/)
  })
})
