import { describe, expect, it } from 'vitest'
import { readOptions } from './scale-options.ts'
import { capacityTable, summariseCalls } from './scale-report.ts'
import type { Phase, RunResult } from './scale-run.ts'
import {
  capacity,
  latency,
  percentile,
  replicasToSaturateDatabase,
  roundsPerMinute,
} from './scale-stats.ts'

describe('percentile', () => {
  it('is a measured value by nearest rank, whatever the order', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i) // 100 … 1
    expect(percentile(xs, 50)).toBe(50)
    expect(percentile(xs, 99)).toBe(99)
    expect(percentile(xs, 100)).toBe(100)
    expect(percentile([7], 1)).toBe(7)
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
  })
  it('sorts numerically, and leaves its input alone', () => {
    const xs = [100, 9, 20]
    expect(percentile(xs, 50)).toBe(20)
    expect(xs).toEqual([100, 9, 20])
  })
  it('refuses no values and a percentile out of (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(/no values/)
    expect(() => percentile([1], 0)).toThrow(/above 0/)
    expect(() => percentile([1], 101)).toThrow(/at most 100/)
  })
  it('summarises latencies, or says there were none', () => {
    const ms = Array.from({ length: 1000 }, (_, i) => i + 1)
    expect(latency(ms)).toEqual({ count: 1000, p50: 500, p99: 990, max: 1000 })
    expect(latency([])).toBeNull()
  })
})

describe('the capacity model', () => {
  // 2 ms of replica CPU and 0.5 ms of PostgreSQL CPU per call.
  const cost = { calls: 100, replicaCpu: 0.002, databaseCpu: 0.0005 }

  it('grows with replicas until the database is the bound', () => {
    const one = capacity(cost, { replicas: 1, coresPerReplica: 1, databaseCores: 4 })
    expect(one).toMatchObject({ callsPerSecond: 500, bound: 'replicas', databaseBound: 8000 })
    const ten = capacity(cost, { replicas: 10, coresPerReplica: 1, databaseCores: 4 })
    expect(ten.callsPerSecond).toBe(5000)
    const twenty = capacity(cost, { replicas: 20, coresPerReplica: 1, databaseCores: 4 })
    expect(twenty).toMatchObject({ callsPerSecond: 8000, bound: 'database', replicaBound: 10000 })
    expect(replicasToSaturateDatabase(cost, { coresPerReplica: 1, databaseCores: 4 })).toBe(16)
  })
  it('has no database bound on the embedded store', () => {
    const embedded = { calls: 1, replicaCpu: 0.004, databaseCpu: 0 }
    const c = capacity(embedded, { replicas: 1, coresPerReplica: 1, databaseCores: 0 })
    expect(c).toMatchObject({ callsPerSecond: 250, bound: 'replicas', databaseBound: Infinity })
    expect(replicasToSaturateDatabase(embedded, { coresPerReplica: 1, databaseCores: 0 })).toBe(
      Infinity,
    )
  })
  it('gives the rounds a minute a round mix allows, on the side that is busier', () => {
    const costs = {
      checkin: { calls: 1, replicaCpu: 0.001, databaseCpu: 0.0005 },
      download: { calls: 1, replicaCpu: 0.001, databaseCpu: 0 },
      upload: { calls: 1, replicaCpu: 0.004, databaseCpu: 0.002 },
    }
    const mix = { checkins: 10_000, downloads: 1000, uploads: 1000 }
    // Replicas: 10 + 1 + 4 = 15 CPU s a round; the database: 5 + 2 = 7 CPU s.
    expect(roundsPerMinute(costs, mix, { replicas: 1, coresPerReplica: 1, databaseCores: 8 })).toBe(
      4,
    )
    expect(
      roundsPerMinute(costs, mix, { replicas: 15, coresPerReplica: 1, databaseCores: 1 }),
    ).toBe(60 / 7)
  })
})

/** Two rounds, at 8 and then 32 requests in flight, with numbers that make the sums easy. */
function run(): RunResult {
  const phase = (
    kind: Phase['kind'],
    round: number,
    concurrency: number,
    calls: number,
    wallSeconds: number,
    latencies: [number, number],
    shed = 0,
  ): Phase => ({
    kind,
    round,
    concurrency,
    shed,
    latencies,
    wallSeconds,
    calls,
    replicaCpu: [calls * 0.001, calls * 0.003],
    databaseCpu: calls * 0.0005,
    loadCpu: calls * 0.0002,
    counters: {
      xactCommit: calls * 2,
      xactRollback: 0,
      tupReturned: 0,
      tupFetched: 0,
      tupInserted: calls,
      tupUpdated: calls,
      tupDeleted: 0,
      blksRead: 0,
      blksHit: 0,
    },
  })
  const commit = phase('commit', 1, 8, 0, 0.5, [0, 0])
  return {
    store: 'postgres',
    replicas: 2,
    devices: 1000,
    select: 100,
    rounds: 2,
    concurrency: [8, 32],
    model: { choice: 'tiny', parameters: 7850, uploadBytes: 31668, downloadBytes: 31500 },
    phases: [
      phase('checkin', 1, 8, 1000, 2, [0, 3], 400),
      phase('download', 1, 8, 200, 1, [0, 1]),
      phase('upload', 1, 8, 100, 1, [0, 1]),
      { ...commit, counters: { ...commit.counters!, xactCommit: 100 } },
      phase('checkin', 2, 32, 1000, 2, [3, 5]),
      phase('upload', 2, 32, 100, 1, [1, 2]),
    ],
    latencies: { checkin: [1, 2, 3, 10, 20], upload: [5, 7], download: [1] },
    outcomes: { 'checkin:busy': 400 },
    peakRss: [1e8, 2e8],
    peakConnections: { total: 10, byState: { idle: 10 } },
    startSeconds: 3,
  }
}

describe('the summary of a run', () => {
  it('adds up the phases of a kind into rates and CPU per answered call', () => {
    // 2,000 check-ins made, 400 of them shed: the costs are per answered call.
    const all = summariseCalls(run(), { byConcurrency: false })
    const checkin = all.find((c) => c.kind === 'checkin')!
    expect(checkin.concurrency).toBeNull()
    expect(checkin.calls).toBe(1600)
    expect(checkin.callsPerSecond).toBe(400)
    expect(checkin.replicaCpuMs).toBeCloseTo(5)
    expect(checkin.databaseCpuMs).toBeCloseTo(0.625)
    expect(checkin.loadCpuMs).toBeCloseTo(0.25)
    expect(checkin.replicaCores[0]).toBeCloseTo(0.5)
    expect(checkin.replicaCores[1]).toBeCloseTo(1.5)
    expect(checkin.transactionsPerCall).toBe(2.5)
    expect(checkin.rowsWrittenPerCall).toBe(2.5)
    expect(checkin.shed).toBe(400)
    expect(checkin.latencyMs).toMatchObject({ count: 5, p50: 3, max: 20 })
    expect(all.map((c) => c.kind)).toEqual(['checkin', 'download', 'upload'])
    // The commit's statistics come late from the uploads before it: they count with them.
    const upload = all.find((c) => c.kind === 'upload')!
    expect(upload.transactionsPerCall).toBe((2 * 100 * 2 + 100) / 200)
  })
  it('keeps each concurrency level apart, with its own latencies', () => {
    const rows = summariseCalls(run()).filter((c) => c.kind !== 'download')
    expect(rows.map((c) => [c.kind, c.concurrency, c.calls, c.shed])).toEqual([
      ['checkin', 8, 600, 400],
      ['checkin', 32, 1000, 0],
      ['upload', 8, 100, 0],
      ['upload', 32, 100, 0],
    ])
    expect(rows[0]!.latencyMs).toMatchObject({ count: 3, p50: 2 })
    expect(rows[1]!.latencyMs).toMatchObject({ count: 2, p50: 10, p99: 20 })
    expect(rows[1]!.callsPerSecond).toBe(500)
    // Only round 1's commit follows the uploads at 8; none follows those at 32 here.
    expect(rows[2]!.transactionsPerCall).toBe(3)
    expect(rows[3]!.transactionsPerCall).toBe(2)
  })
  it('computes the capacity table from the CPU per call over every level', () => {
    // Check-ins: 5 ms on the replicas, 0.625 ms on a 4-core database: 200/s a replica, 6400/s.
    const table = capacityTable(run(), 4, [1, 40])
    expect(table).toContain('| 1 | 200 | replicas |')
    expect(table).toContain('| 40 | 6400 | database |')
    expect(table).toContain('past 32.0 replicas for check-ins')
  })
})

describe('the command line', () => {
  it('has a quick run and the full one, and bounds each number', () => {
    expect(readOptions(['--quick'])).toMatchObject({
      devices: 1000,
      select: 100,
      rounds: 2,
      concurrency: [32],
    })
    expect(readOptions([])).toMatchObject({
      devices: 10_000,
      select: 1000,
      rounds: 3,
      concurrency: [8, 32, 128],
      stores: ['pglite', 'postgres'],
      replicas: [1, 3],
    })
    expect(readOptions(['--', '--store', 'postgres', '--replicas', '3'])).toMatchObject({
      stores: ['postgres'],
      replicas: [3],
    })
    expect(() => readOptions(['--devices', '10', '--select', '11'])).toThrow(/at most --devices/)
    expect(() => readOptions(['--replicas', '0'])).toThrow(/--replicas takes an integer/)
    expect(() => readOptions(['--store', 'sqlite'])).toThrow(/--store takes/)
    expect(() => readOptions(['--concurrency', '1.5'])).toThrow(/--concurrency/)
    expect(() => readOptions(['--quick', '--concurrency', '1,2,3'])).toThrow(
      /--rounds \(2\) must be at least the number of --concurrency levels \(3\)/,
    )
  })
})
