// Blob store benchmark: where replicas keep model checkpoints, a shared directory or PostgreSQL.
//
//   npm run bench:blobs [-- --sizes 1,4.8,20] [-- --repeats 5] [-- --json FILE]
//
// Puts and gets blobs of each size (MB = 10^6 bytes) in the file store (written to a temporary
// file, fsynced, renamed, folder fsynced: as the coordinator does today) and in the PostgreSQL
// store (one bytea row, over 127.0.0.1 through node-postgres, in a fresh database on
// POLLEN_TEST_DATABASE_URL's server). Stores, sizes and repeats are interleaved so that drift in
// the machine's load falls on both alike. Every put is of new random bytes (a real write); every
// get is by a fresh store, so PostgreSQL's in-memory cache of recent blobs is not measured: what
// is measured is the read from the server (shared_buffers or disk) and the hash check, against
// the read of a file (the page cache, usually) and the same hash check.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { fileBlobStore, postgresBlobStore, type BlobStore } from '../server/blobs/index.ts'
import { migrate, postgresDatabase } from '../server/store/index.ts'
import { freshDatabase } from '../server/store/testing-pg.ts'
import { median, range } from './stats.ts'

const MB = 1e6
const STORES = ['file', 'postgres'] as const
type StoreName = (typeof STORES)[number]

interface Options {
  sizes: number[]
  repeats: number
  json: string | undefined
}

export interface Result {
  store: StoreName
  megabytes: number
  /** Milliseconds per put and per get: median and [min, max] over the repeats. */
  putMs: { median: number; range: [number, number] }
  getMs: { median: number; range: [number, number] }
  putMBps: number
  getMBps: number
}

function readOptions(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      sizes: { type: 'string', default: '1,4.8,20' },
      repeats: { type: 'string', default: '5' },
      json: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  })
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()))
  if (sizes.length === 0 || !sizes.every((n) => Number.isFinite(n) && n > 0 && n <= 200))
    throw new Error(`--sizes takes megabytes in (0, 200] separated by commas, got ${values.sizes}`)
  const repeats = Number(values.repeats)
  if (!Number.isSafeInteger(repeats) || repeats < 1 || repeats > 100)
    throw new Error(`--repeats takes an integer from 1 to 100, got ${values.repeats}`)
  return { sizes, repeats, json: values.json }
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now()
  const value = await run()
  return [value, performance.now() - start]
}

async function main() {
  const options = readOptions()
  const dir = await mkdtemp(join(tmpdir(), 'pollen-bench-blobs-'))
  const database = await freshDatabase('bench_blobs')
  const pool = new pg.Pool({ connectionString: database.url, max: 2 })
  try {
    await migrate(postgresDatabase(pool))
    const make: Record<StoreName, () => BlobStore> = {
      file: () => fileBlobStore(dir),
      postgres: () => postgresBlobStore(pool, { cacheBytes: 0 }),
    }
    const samples = new Map<string, { put: number[]; get: number[] }>()
    const key = (store: StoreName, size: number) => `${store} ${size}`
    // One untimed round trip each, so the first timed put does not pay for a connection.
    await make.postgres().has('0'.repeat(64))
    for (let repeat = 0; repeat < options.repeats; repeat++)
      for (const size of options.sizes) {
        // Alternate which store goes first, so neither always follows the other's writes.
        const order = repeat % 2 === 0 ? STORES : [...STORES].reverse()
        for (const store of order) {
          const bytes = new Uint8Array(randomBytes(Math.round(size * MB)))
          const [hash, put] = await timed(() => make[store]().put(bytes))
          const [back, get] = await timed(() => make[store]().get(hash))
          if (back?.byteLength !== bytes.byteLength) throw new Error(`${store} lost ${hash}`)
          const entry = samples.get(key(store, size)) ?? { put: [], get: [] }
          entry.put.push(put)
          entry.get.push(get)
          samples.set(key(store, size), entry)
          process.stdout.write('.')
        }
      }
    process.stdout.write('\n')
    const results: Result[] = options.sizes.flatMap((megabytes) =>
      STORES.map((store) => {
        const { put, get } = samples.get(key(store, megabytes))!
        const summary = (xs: number[]) => ({ median: median(xs), range: range(xs) })
        return {
          store,
          megabytes,
          putMs: summary(put),
          getMs: summary(get),
          putMBps: megabytes / (median(put) / 1000),
          getMBps: megabytes / (median(get) / 1000),
        }
      }),
    )
    console.log(table(results, options.repeats))
    if (options.json) {
      const { rows } = await pool.query<{ version: string }>('select version()')
      const report = {
        date: new Date().toISOString(),
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
        postgres: rows[0]?.version,
        repeats: options.repeats,
        results,
      }
      await writeFile(options.json, JSON.stringify(report, null, 2) + '\n')
      console.log(`wrote ${options.json}`)
    }
  } finally {
    await pool.end()
    await database.drop()
    await rm(dir, { recursive: true, force: true })
  }
}

function table(results: Result[], repeats: number) {
  const ms = ({ median: m, range: [lo, hi] }: Result['putMs']) =>
    `${m.toFixed(1)} (${lo.toFixed(1)}–${hi.toFixed(1)})`
  return [
    `| blob | store | put ms, median (min–max) | put MB/s | get ms, median (min–max) | get MB/s |`,
    `|---|---|---|---|---|---|`,
    ...results.map(
      (r) =>
        `| ${r.megabytes} MB | ${r.store} | ${ms(r.putMs)} | ${r.putMBps.toFixed(0)} | ` +
        `${ms(r.getMs)} | ${r.getMBps.toFixed(0)} |`,
    ),
    '',
    `${repeats} repeats; MB = 10^6 bytes; get includes the SHA-256 check of the bytes read.`,
  ].join('\n')
}

await main()
