// What durability costs an upload on PostgreSQL (issue 17): before a replica answers `accepted`,
// the update is spooled, its bytes inserted as a bytea row, so the round counts it even if that
// replica dies. This measures such inserts alone, against the PostgreSQL server the tests use:
//
//   npm run bench:spool [-- --inserts 60] [-- --connections 1,4] [-- --json FILE]
//
// In a fresh database (freshDatabase, dropped at the end) it inserts synet-sized float32 updates
// (4,800,136 bytes, the container an upload carries), each its own transaction committed with
// synchronous_commit on, as an upload's would be: over 1 and over 4 connections at once, with the
// column's storage as PostgreSQL leaves it (EXTENDED: it tries pglz compression first) and as
// EXTERNAL (no compression). It also measures the alternative the design weighs: writing a
// replica's float64 partial sum (9,599,056 bytes) once, and deleting a round's spool rows.
import { readFile, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { freshDatabase } from '../server/store/testing-pg.ts'
import { median } from './stats.ts'

const SYNET_PARAMETERS = 1_199_882
/** The container of a synet update: its header and metadata, then 4 bytes a parameter. */
const UPDATE_BYTES = 4_800_136
const PARTIAL_BYTES = SYNET_PARAMETERS * 8
const MB = 1e6

interface Case {
  storage: 'extended' | 'external'
  /** `on` as an upload's commit must be; `off` to see what the WAL flush costs. */
  synchronousCommit: 'on' | 'off'
  connections: number
  inserts: number
  /** Inserts committed per second, all connections together. */
  insertsPerSecond: number
  megabytesPerSecond: number
  /** Median and 90th percentile of one insert's time, begin to commit. */
  medianMs: number
  p90Ms: number
  /** Bytes of the table (with its TOAST) per row: what compression saved. */
  storedBytesPerRow: number
  /** CPU per insert in this (client) process and in the PostgreSQL backends that served it. */
  clientCpuMs: number
  serverCpuMs: number
}

/** CPU time (ms) a process on this machine used so far, from /proc; null where unreadable. */
async function processCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return null
  }
}

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      inserts: { type: 'string', default: '60' },
      connections: { type: 'string', default: '1,4' },
      json: { type: 'string' },
    },
    strict: true,
  })
  const inserts = Number(values.inserts)
  const connections = values.connections.split(',').map(Number)
  if (!Number.isSafeInteger(inserts) || inserts < 4)
    throw new Error(`--inserts takes an integer ≥ 4, got ${values.inserts}`)
  if (!connections.every((n) => Number.isSafeInteger(n) && n >= 1 && n <= 32))
    throw new Error(`--connections takes integers 1 to 32 separated by commas`)
  return { inserts, connections, json: values.json }
}

/** A float32 delta's bytes, as a device's training would give (small values, not zeros). */
function update(seed: number): Buffer {
  const bytes = Buffer.alloc(UPDATE_BYTES)
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset + 136, SYNET_PARAMETERS)
  let state = seed >>> 0 || 1
  for (let i = 0; i < floats.length; i++) {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    floats[i] = (state / 2 ** 32 - 0.5) * 0.02
  }
  bytes.write('PLNT', 0)
  return bytes
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

async function run() {
  const { inserts, connections, json } = options()
  const database = await freshDatabase('bench_spool')
  const pool = new pg.Pool({ connectionString: database.url, max: Math.max(...connections) })
  const bodies = Array.from({ length: 4 }, (_, k) => update(k + 1))
  const cases: Case[] = []
  try {
    const variants = [
      ...(['extended', 'external'] as const).flatMap((storage) =>
        connections.map((n) => ({ storage, n, synchronousCommit: 'on' as const })),
      ),
      { storage: 'external' as const, n: 1, synchronousCommit: 'off' as const },
    ]
    for (const { storage, n, synchronousCommit } of variants) {
      await pool.query('drop table if exists spool')
      await pool.query(
        `create table spool (task text not null, round int not null, device text not null,
             replica text not null, metadata jsonb not null, update bytea not null,
             primary key (task, round, device))`,
      )
      await pool.query(`alter table spool alter column update set storage ${storage}`)
      // One warm-up insert, not counted.
      await pool.query(`insert into spool values ('warm', 0, 'warm', 'r', '{}', $1)`, [bodies[0]])
      const times: number[] = []
      let next = 0
      let serverCpu = 0
      const clientCpu = process.cpuUsage()
      const started = performance.now()
      await Promise.all(
        Array.from({ length: n }, async () => {
          const client = await pool.connect()
          try {
            await client.query(`set synchronous_commit = ${synchronousCommit}`)
            const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
            const pid = rows[0]!.pid
            const before = await processCpuMs(pid)
            while (next < inserts) {
              const i = next++
              const t0 = performance.now()
              await client.query('begin')
              await client.query(`insert into spool values ('t', 1, $1, 'r', $2, $3)`, [
                `device-${i}`,
                JSON.stringify({ examples: 100, steps: 4 }),
                bodies[i % 4],
              ])
              await client.query('commit')
              times.push(performance.now() - t0)
            }
            const after = await processCpuMs(pid)
            if (before !== null && after !== null) serverCpu += after - before
            else serverCpu = NaN
          } finally {
            client.release()
          }
        }),
      )
      const seconds = (performance.now() - started) / 1000
      const client = process.cpuUsage(clientCpu)
      const { rows } = await pool.query<{ bytes: string }>(
        `select pg_total_relation_size('spool') as bytes`,
      )
      const result: Case = {
        storage,
        synchronousCommit,
        connections: n,
        inserts,
        insertsPerSecond: round1(inserts / seconds),
        megabytesPerSecond: round1((inserts * UPDATE_BYTES) / MB / seconds),
        medianMs: round1(median(times)),
        p90Ms: round1(quantile(times, 0.9)),
        storedBytesPerRow: Math.round(Number(rows[0]!.bytes) / (inserts + 1)),
        clientCpuMs: round1((client.user + client.system) / 1000 / inserts),
        serverCpuMs: round1(serverCpu / inserts),
      }
      cases.push(result)
      console.log(JSON.stringify(result))
    }

    // A round closing: its spool rows deleted at once.
    const t0 = performance.now()
    await pool.query(`delete from spool where task = 't' and round = 1`)
    const deleteMs = performance.now() - t0

    // The alternative: a replica's float64 partial sum, written once (at close, or per upload).
    await pool.query(
      `create table partials (task text, round int, replica text, sum bytea,
         primary key (task, round, replica))`,
    )
    await pool.query(`alter table partials alter column sum set storage external`)
    const partial = Buffer.alloc(PARTIAL_BYTES)
    new Float64Array(partial.buffer, partial.byteOffset, SYNET_PARAMETERS).set(
      new Float32Array(bodies[0]!.buffer, bodies[0]!.byteOffset + 136, SYNET_PARAMETERS),
    )
    const partialTimes: number[] = []
    for (let i = 0; i < 10; i++) {
      const t = performance.now()
      await pool.query(
        `insert into partials values ('t', 1, 'r', $1)
         on conflict (task, round, replica) do update set sum = excluded.sum`,
        [partial],
      )
      partialTimes.push(performance.now() - t)
    }
    const summary = {
      cases,
      deleteRoundOfSpoolMs: round1(deleteMs),
      deletedRows: inserts,
      partialUpsertMedianMs: round1(median(partialTimes)),
      partialBytes: PARTIAL_BYTES,
      updateBytes: UPDATE_BYTES,
      machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
      date: new Date().toISOString(),
    }
    console.log(
      `delete a round's ${inserts} spool rows: ${summary.deleteRoundOfSpoolMs} ms; ` +
        `upsert a ${PARTIAL_BYTES / MB} MB float64 partial: ${summary.partialUpsertMedianMs} ms (median of 10)`,
    )
    console.log()
    console.log(
      '| storage | synchronous_commit | connections | inserts/s | MB/s | ms per insert (median) | ' +
        'p90 ms | stored bytes/row | client CPU ms/insert | server CPU ms/insert |',
    )
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const c of cases)
      console.log(
        `| ${c.storage} | ${c.synchronousCommit} | ${c.connections} | ${c.insertsPerSecond} | ` +
          `${c.megabytesPerSecond} | ${c.medianMs} | ${c.p90Ms} | ${c.storedBytesPerRow} | ` +
          `${c.clientCpuMs} | ${c.serverCpuMs} |`,
      )
    if (json) await writeFile(json, JSON.stringify(summary, null, 2) + '\n')
  } finally {
    await pool.end()
    await database.drop()
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10

run().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
