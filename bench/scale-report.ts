// bench:scale's tables: what each configuration measured per kind of call, and the capacity
// model computed from the measured costs (stated as computed wherever it is printed).
import type { CallKind } from './scale-devices.ts'
import type { Phase, RunResult } from './scale-run.ts'
import {
  capacity,
  latency,
  replicasToSaturateDatabase,
  roundsPerMinute,
  type CallCost,
  type Cluster,
  type Latency,
} from './scale-stats.ts'

export const CALL_KINDS: readonly CallKind[] = ['enrol', 'checkin', 'download', 'upload']

/** One kind of call in one configuration, over its phases at one concurrency (or all). */
export interface CallSummary {
  kind: CallKind
  /** Requests in flight in these phases; null when summed over every level. */
  concurrency: number | null
  /** Calls answered (shed ones left out), and answered per second of the phases' wall time. */
  calls: number
  callsPerSecond: number
  latencyMs: Latency | null
  /** CPU ms per call: all replicas together, the database's backends, the load generator. */
  replicaCpuMs: number
  databaseCpuMs: number
  loadCpuMs: number
  /** Cores each replica kept busy during these phases (CPU s / wall s). */
  replicaCores: number[]
  databaseCores: number
  /** Database transactions and rows written per call (pg_stat_database), null on PGlite. */
  transactionsPerCall: number | null
  rowsWrittenPerCall: number | null
  /** Calls the coordinator shed (503 or a busy check-in retry), which the device repeated; not in `calls`. */
  shed: number
}

/**
 * Per kind of call, and per concurrency level unless `byConcurrency` is false (the capacity
 * model takes the costs over every level).
 */
export function summariseCalls(run: RunResult, { byConcurrency = true } = {}): CallSummary[] {
  const levels = byConcurrency
    ? [...new Set(run.phases.map((p) => p.concurrency))].sort((a, b) => a - b)
    : [null]
  return CALL_KINDS.flatMap((kind) =>
    levels.flatMap((level) => {
      const phases = run.phases.filter(
        (p) => p.kind === kind && (level === null || p.concurrency === level),
      )
      return phases.length === 0 ? [] : summarise(run, kind, level, phases)
    }),
  )
}

function summarise(
  run: RunResult,
  kind: CallKind,
  concurrency: number | null,
  phases: Phase[],
): CallSummary[] {
  // Costs are per answered call: a shed call (answered busy at once) is overload's overhead,
  // and counting it as a call would make an overloaded configuration look cheaper.
  const shed = sum(phases.map((p) => p.shed))
  const calls = sum(phases.map((p) => p.calls)) - shed
  if (calls <= 0) return []
  const wall = sum(phases.map((p) => p.wallSeconds))
  const perReplica = run.phases[0]!.replicaCpu.map((_, i) =>
    sum(phases.map((p) => p.replicaCpu[i]!)),
  )
  const database = sum(phases.map((p) => p.databaseCpu))
  // An upload phase's late statistics land in the commit that follows it (scale-run.ts).
  const rounds = new Set(phases.map((p) => p.round))
  const counted = [
    ...phases,
    ...(kind === 'upload'
      ? run.phases.filter((p) => p.kind === 'commit' && rounds.has(p.round))
      : []),
  ]
  const counters = counted.every((p) => p.counters) ? counted.map((p) => p.counters!) : null
  const all = run.latencies[kind] ?? []
  const ms = phases.flatMap((p) => all.slice(p.latencies[0], p.latencies[1]))
  return [
    {
      kind,
      concurrency,
      calls,
      callsPerSecond: calls / wall,
      latencyMs: latency(ms),
      replicaCpuMs: (1000 * sum(perReplica)) / calls,
      databaseCpuMs: (1000 * database) / calls,
      loadCpuMs: (1000 * sum(phases.map((p) => p.loadCpu))) / calls,
      replicaCores: perReplica.map((cpu) => cpu / wall),
      databaseCores: database / wall,
      transactionsPerCall: counters
        ? sum(counters.map((c) => c.xactCommit + c.xactRollback)) / calls
        : null,
      rowsWrittenPerCall: counters
        ? sum(counters.map((c) => c.tupInserted + c.tupUpdated + c.tupDeleted)) / calls
        : null,
      shed,
    },
  ]
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)
const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '∞')
const MB = 1e6

export const configName = (run: Pick<RunResult, 'store' | 'replicas'>) =>
  `${run.store === 'pglite' ? 'PGlite (embedded)' : 'PostgreSQL'}, ${run.replicas} replica${run.replicas === 1 ? '' : 's'}`

/** Measured: one row per configuration and kind of call. */
export function callsTable(runs: readonly RunResult[]): string {
  const head =
    '| configuration | call | in flight | calls answered | calls/s | p50 ms | p99 ms | replica CPU ms/call | ' +
    'PostgreSQL CPU ms/call | load generator CPU ms/call | cores busy: replicas · PostgreSQL | ' +
    'db transactions/call | rows written/call | shed | computed: calls/s per replica core |'
  const rule = '|---|---|' + '---:|'.repeat(13)
  const rows = runs.flatMap((run) =>
    summariseCalls(run).map(
      (c) =>
        `| ${configName(run)} | ${c.kind} | ${c.concurrency ?? 'all'} | ${c.calls} | ${fixed(c.callsPerSecond)} | ` +
        `${fixed(c.latencyMs?.p50 ?? NaN)} | ${fixed(c.latencyMs?.p99 ?? NaN)} | ` +
        `${fixed(c.replicaCpuMs, 2)} | ${run.store === 'pglite' ? '(in replica)' : fixed(c.databaseCpuMs, 2)} | ` +
        `${fixed(c.loadCpuMs, 2)} | ${c.replicaCores.map((x) => fixed(x, 2)).join(' + ')} · ` +
        `${run.store === 'pglite' ? '–' : fixed(c.databaseCores, 2)} | ` +
        `${c.transactionsPerCall === null ? '–' : fixed(c.transactionsPerCall, 2)} | ` +
        `${c.rowsWrittenPerCall === null ? '–' : fixed(c.rowsWrittenPerCall, 2)} | ${c.shed} | ` +
        `${fixed(1000 / c.replicaCpuMs, 0)} |`,
    ),
  )
  return [head, rule, ...rows].join('\n')
}

/** Measured: per configuration, memory, connections and the rounds' commit times. */
export function processTable(runs: readonly RunResult[]): string {
  const head =
    '| configuration | devices · selected/round · rounds | model (parameters, upload bytes) | ' +
    'start s | peak RSS MB per replica | PostgreSQL connections (peak) | ' +
    'commit s after last upload (median) | commit CPU s per round: replicas · PostgreSQL |'
  const rule = '|---|---|---|' + '---:|'.repeat(5)
  const rows = runs.map((run) => {
    const commitPhases = run.phases.filter((p: Phase) => p.kind === 'commit')
    const commits = commitPhases.map((p) => p.wallSeconds)
    const replicaCommitCpu = medianOf(commitPhases.map((p) => sum(p.replicaCpu)))
    const databaseCommitCpu = medianOf(commitPhases.map((p) => p.databaseCpu))
    const connections = run.peakConnections
      ? `${run.peakConnections.total} (${Object.entries(run.peakConnections.byState)
          .map(([state, n]) => `${n} ${state}`)
          .join(', ')})`
      : '–'
    return (
      `| ${configName(run)} | ${run.devices} · ${run.select} · ${run.rounds} | ` +
      `${run.model.choice} (${run.model.parameters}, ${run.model.uploadBytes}) | ` +
      `${fixed(run.startSeconds)} | ${run.peakRss.map((b) => fixed(b / MB, 0)).join(' · ')} | ` +
      `${connections} | ${fixed(medianOf(commits), 2)} | ${fixed(replicaCommitCpu, 2)} · ` +
      `${run.store === 'pglite' ? '–' : fixed(databaseCommitCpu, 2)} |`
    )
  })
  return [head, rule, ...rows].join('\n')
}

function medianOf(xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** What the model needs of a configuration: CPU s per call on each side. */
export function costs(run: RunResult): Partial<Record<CallKind, CallCost>> {
  return Object.fromEntries(
    summariseCalls(run, { byConcurrency: false }).map((c) => [
      c.kind,
      { calls: c.calls, replicaCpu: c.replicaCpuMs / 1000, databaseCpu: c.databaseCpuMs / 1000 },
    ]),
  )
}

/**
 * Computed, not measured: calls/s of check-ins and uploads, and rounds/min of the run's round
 * mix, for 1…N replica machines against one PostgreSQL server of `databaseCores` cores, from
 * the CPU per call `run` measured (all its replicas' CPU / calls: each call costs that wherever
 * it lands, so N machines carry N times one machine's share).
 */
export function capacityTable(run: RunResult, databaseCores: number, machines: number[]): string {
  const c = costs(run)
  const checkin = c.checkin
  const download = c.download
  const upload = c.upload
  if (!checkin || !download || !upload) return '(no check-ins or uploads measured)'
  const head =
    '| replica machines (1 core each) | check-ins/s | bound | uploads/s | bound | ' +
    `rounds/min (${run.devices} check-ins, ${run.select} downloads + uploads each) |`
  const rule = '|---:|---:|---|---:|---|---:|'
  const rows = machines.map((replicas) => {
    const cluster: Cluster = { replicas, coresPerReplica: 1, databaseCores }
    const a = capacity(checkin, cluster)
    const b = capacity(upload, cluster)
    const rounds = roundsPerMinute(
      { checkin, download, upload },
      { checkins: run.devices, downloads: run.select, uploads: run.select },
      cluster,
    )
    return (
      `| ${replicas} | ${fixed(a.callsPerSecond, 0)} | ${a.bound} | ` +
      `${fixed(b.callsPerSecond, 0)} | ${b.bound} | ${fixed(rounds, 1)} |`
    )
  })
  const knee = (cost: CallCost) =>
    fixed(replicasToSaturateDatabase(cost, { coresPerReplica: 1, databaseCores }), 1)
  return [
    head,
    rule,
    ...rows,
    '',
    `PostgreSQL (${databaseCores} cores) becomes the bound past ${knee(checkin)} replicas for ` +
      `check-ins and ${knee(upload)} for uploads.`,
  ].join('\n')
}
