// One configuration of bench:scale: start the replicas, create the task, enrol the population,
// then run rounds of check-in → download → upload → commit, each phase measured on its own:
// wall time, every call's latency, CPU of each replica, of the PostgreSQL backends of the bench's
// database and of the load generator, RSS, connections and pg_stat_database's counters.
import * as tfl from '@tensorflow/tfjs-layers'
import { toLayersTopology } from '../shared/models/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import type { Assignment, RoundView, TaskSpecInput, TaskView } from '../shared/protocol/index.ts'
import { decodeContainerHeader } from '../shared/tensors/index.ts'
import {
  deviceClient,
  pool,
  Recorder,
  uploadBody,
  type CallKind,
  type DeviceClient,
} from './scale-devices.ts'
import { randomDeltas } from './deltas.ts'
import {
  counterDelta,
  databaseProbe,
  processCpuSeconds,
  processRss,
  type DatabaseCounters,
  type DatabaseProbe,
} from './scale-probes.ts'
import { freshDatabase, TEST_SERVER_URL } from '../server/store/testing-pg.ts'
import { startReplica, stopReplica, type Replica } from './scale-replicas.ts'

export type Store = 'pglite' | 'postgres'
export type ModelChoice = 'tiny' | 'mnist-2nn'

/** What a configuration is: its store, replicas, population and load. */
export interface Shape {
  store: Store
  replicas: number
  devices: number
  select: number
  rounds: number
  /** Requests in flight: round k runs at level (k − 1) mod levels; enrolment at the highest. */
  concurrency: number[]
}

export interface RunOptions extends Shape {
  model: ModelChoice
  progress: (line: string) => void
}

/** One phase: what it did and what it cost each process. */
export interface Phase {
  kind: CallKind | 'commit'
  round: number
  concurrency: number
  /** Calls shed (answered busy, then repeated), counted in `calls` too. */
  shed: number
  /** Where this phase's calls sit in the run's latencies of its kind: [from, to). */
  latencies: [number, number]
  wallSeconds: number
  calls: number
  /** CPU seconds of each replica over the phase, in replica order. */
  replicaCpu: number[]
  databaseCpu: number
  loadCpu: number
  counters: DatabaseCounters | null
}

export interface RunResult extends Shape {
  model: { choice: ModelChoice; parameters: number; uploadBytes: number; downloadBytes: number }
  phases: Phase[]
  latencies: Partial<Record<CallKind, number[]>>
  outcomes: Record<string, number>
  /** Highest RSS each replica reached (sampled every 100 ms), bytes. */
  peakRss: number[]
  /** Most backends serving the bench's database at once, and their states then. */
  peakConnections: { total: number; byState: Record<string, number> } | null
  startSeconds: number
}

const BODIES = 4
const SAMPLE_MS = 100
/** How long a round may take to open, or to commit after its last upload. */
const ROUND_WAIT_MS = 120_000
/** An idle PostgreSQL 15 backend flushes its statistics within PGSTAT_MIN_INTERVAL, 1 s. */
const STATS_FLUSH_MS = 1100

/** A logistic regression on MNIST (7,850 parameters): the protocol's cost, not the bytes'. */
async function tinyModel(): Promise<TaskSpecInput['model']> {
  await useBackend('cpu')
  const model = tfl.sequential({
    name: 'scale-tiny',
    layers: [
      tfl.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }),
      tfl.layers.dense({ name: 'fc', units: 10, activation: 'softmax' }),
    ],
  })
  try {
    return { preset: 'custom', topology: toLayersTopology(model) }
  } finally {
    model.dispose()
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Repeats a call the coordinator shed (null), after a short jittered wait, until it answers. */
async function untilAnswered<T>(call: () => Promise<T | null>): Promise<T> {
  for (let wait = 20; ; wait = Math.min(wait * 2, 1000)) {
    const answer = await call()
    if (answer !== null) return answer
    await sleep(wait * (0.5 + Math.random()))
  }
}

async function admin<T>(url: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (!response.ok)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

export async function runConfiguration(options: RunOptions): Promise<RunResult> {
  const { progress } = options
  const adminToken = `scale-${Math.random().toString(36).slice(2)}-${Date.now()}`
  const database = options.store === 'postgres' ? await freshDatabase('scale') : null
  let probe: DatabaseProbe | null = null
  const replicas: Replica[] = []
  let client: DeviceClient | undefined
  let sampler: NodeJS.Timeout | undefined
  try {
    const started = performance.now()
    const env: Record<string, string> = {
      POLLEN_ADMIN_TOKEN: adminToken,
      ...(database ? { POLLEN_DATABASE_URL: database.url } : {}),
    }
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: options.replicas }, (_, i) => startReplica(env, `replica-${i + 1}`)),
      )),
    )
    const startSeconds = (performance.now() - started) / 1000
    progress(`  ${options.replicas} replica(s) started in ${startSeconds.toFixed(1)} s`)
    if (database) {
      probe = await databaseProbe(TEST_SERVER_URL, database.name)
      const { pids } = await probe.connections()
      if (pids.length === 0)
        throw new Error(
          'the coordinator holds no connection to the database of POLLEN_DATABASE_URL: does ' +
            'this server/main.ts have the PostgreSQL store (issue 17)?',
        )
    }

    // Sampling: RSS of each replica, the database's connections and its backends' CPU.
    const peakRss = replicas.map(() => 0)
    let peakConnections: RunResult['peakConnections'] = database ? { total: 0, byState: {} } : null
    let sampling = false
    const sample = async () => {
      replicas.forEach((r, i) => (peakRss[i] = Math.max(peakRss[i]!, processRss(r.pid) ?? 0)))
      if (!probe) return
      const { byState, pids } = await probe.connections()
      probe.sampleCpu(pids)
      if (peakConnections && pids.length > peakConnections.total)
        peakConnections = { total: pids.length, byState }
    }
    sampler = setInterval(() => {
      if (sampling) return
      sampling = true
      void sample().finally(() => (sampling = false))
    }, SAMPLE_MS)

    const phases: Phase[] = []
    const recorder = new Recorder()
    /**
     * Runs one phase, measured; its calls are every HTTP call of its kind, shed ones too.
     * PostgreSQL 15's backends flush their pg_stat_database counts up to a second late, so a
     * phase waits STATS_FLUSH_MS before it reads them at its end (outside its wall time and its
     * replicas' CPU) — except an upload phase, which the round's commit follows at once: its
     * late counts land in the commit phase, and the summary adds the two (scale-report.ts).
     */
    async function phase(
      kind: Phase['kind'],
      round: number,
      concurrency: number,
      work: () => Promise<void>,
    ) {
      while (sampling) await sleep(1)
      sampling = true
      await sample()
      probe?.resetCpu()
      const counters = probe ? await probe.counters() : null
      sampling = false
      const cpu0 = replicas.map((r) => processCpuSeconds(r.pid) ?? 0)
      const load0 = process.cpuUsage()
      const t0 = performance.now()
      const before = kind === 'commit' ? 0 : recorder.calls(kind)
      const shedBefore = recorder.outcomes.get(`${kind}:busy`) ?? 0
      await work()
      const calls = kind === 'commit' ? 0 : recorder.calls(kind) - before
      const shed = (recorder.outcomes.get(`${kind}:busy`) ?? 0) - shedBefore
      const wallSeconds = (performance.now() - t0) / 1000
      const load = process.cpuUsage(load0)
      const replicaCpu = replicas.map((r, i) => (processCpuSeconds(r.pid) ?? 0) - cpu0[i]!)
      if (probe && kind !== 'upload') await sleep(STATS_FLUSH_MS)
      while (sampling) await sleep(1)
      sampling = true
      await sample()
      const after = probe ? await probe.counters() : null
      sampling = false
      const result: Phase = {
        kind,
        round,
        concurrency,
        shed,
        latencies: [before, before + calls],
        wallSeconds,
        calls,
        replicaCpu,
        databaseCpu: probe?.cpuSinceReset() ?? 0,
        loadCpu: (load.user + load.system) / 1e6,
        counters: counters && after ? counterDelta(counters, after) : null,
      }
      phases.push(result)
      return result
    }

    const url = replicas[0]!.url
    const model = options.model === 'tiny' ? await tinyModel() : { preset: options.model }
    const spec: TaskSpecInput = {
      name: `bench:scale, ${options.select} of ${options.devices} devices per round`,
      purpose: 'Measure the coordinator under load; protocol-only devices train nothing.',
      model,
      dataset: 'mnist',
      rounds: {
        total: options.rounds,
        clientsPerRound: options.select,
        minReports: options.select,
        overSelect: 1,
        deadlineSeconds: 3600,
      },
    }
    const task = await admin<TaskView>(url, adminToken, 'POST', '/api/v1/tasks', spec)

    client = deviceClient({ urls: replicas.map((r) => r.url), recorder })
    const devices = client
    const tokens: string[] = []
    const highest = Math.max(...options.concurrency)
    const enrol = await phase('enrol', 0, highest, async () => {
      await pool(
        Array.from({ length: options.devices }),
        highest,
        async () => void tokens.push(await untilAnswered(() => devices.enrol())),
      )
    })
    progress(`  ${options.devices} devices enrolled in ${enrol.wallSeconds.toFixed(1)} s`)

    // The tensor layout, as a device learns it: from the model it downloads.
    const first = await untilAnswered(() => devices.download(tokens[0]!, task.model.hash))
    const layout = decodeContainerHeader(new Uint8Array(first)).tensors
    const deltas = Array.from({ length: BODIES }, (_, k) => randomDeltas(layout, k + 1))
    let uploadBytes = 0

    /**
     * Polls the task's rounds (on each replica in turn: any of them must tell the database's
     * truth) until `round` has `status`; a round that ends otherwise, or takes longer than
     * ROUND_WAIT_MS, fails the run.
     */
    async function untilRound(round: number, status: 'open' | 'committed') {
      const deadline = performance.now() + ROUND_WAIT_MS
      for (let poll = 0; performance.now() < deadline; poll++) {
        const { rounds } = await admin<{ rounds: RoundView[] }>(
          replicas[poll % replicas.length]!.url,
          adminToken,
          'GET',
          `/api/v1/tasks/${task.id}/rounds`,
        )
        const now = rounds.find((x) => x.round === round)?.status
        if (now === status) return
        if (now !== undefined && now !== 'open')
          throw new Error(`round ${round} ended ${now}, expected ${status}`)
        await sleep(10)
      }
      throw new Error(`round ${round} was not ${status} within ${ROUND_WAIT_MS / 1000} s`)
    }

    for (let round = 1; round <= options.rounds; round++) {
      // With replicas, the task's owner opens the next round: the check-ins wait for it, unmeasured.
      await untilRound(round, 'open')
      const concurrency = options.concurrency[(round - 1) % options.concurrency.length]!
      const assignments: Assignment[] = []
      const tokenOf = new Map<Assignment, string>()
      const checkins = await phase('checkin', round, concurrency, async () => {
        // Every device checks in once; the round takes `select` of them and tells the rest to
        // come back later. One shed by the coordinator (503) comes back until it is answered.
        await pool(shuffled(tokens), concurrency, async (token) => {
          const answer = await untilAnswered(() => devices.checkin(token))
          if (answer.type !== 'assignment') return
          if (answer.round !== round)
            throw new Error(`round ${round}: a device was assigned round ${answer.round}`)
          assignments.push(answer)
          tokenOf.set(answer, token)
        })
      })
      if (assignments.length !== options.select)
        throw new Error(
          `round ${round}: ${assignments.length} devices selected, expected ${options.select}`,
        )
      await phase('download', round, concurrency, async () => {
        await pool(assignments, concurrency, async (a) => {
          await untilAnswered(() => devices.download(tokenOf.get(a)!, a.model.hash))
        })
      })
      const bodies = deltas.map((d, k) => uploadBody(d, assignments[0]!.model.hash, 100 + k))
      uploadBytes = bodies[0]!.length
      const uploads = await phase('upload', round, concurrency, async () => {
        await pool(assignments, concurrency, async (a, i) => {
          const answer = await untilAnswered(() =>
            devices.upload(tokenOf.get(a)!, a.uploadUrl, bodies[i % BODIES]!),
          )
          if (answer.type !== 'accepted')
            throw new Error(`round ${round}: upload answered ${JSON.stringify(answer)}`)
        })
      })
      const commit = await phase('commit', round, concurrency, () => untilRound(round, 'committed'))
      progress(
        `  round ${round}/${options.rounds}: ${checkins.calls} check-ins in ` +
          `${checkins.wallSeconds.toFixed(1)} s, ${options.select} uploads in ` +
          `${uploads.wallSeconds.toFixed(1)} s, committed ` +
          `${commit.wallSeconds.toFixed(2)} s after the last upload`,
      )
    }

    clearInterval(sampler)
    sampler = undefined
    while (sampling) await sleep(1)
    return {
      store: options.store,
      replicas: options.replicas,
      devices: options.devices,
      select: options.select,
      rounds: options.rounds,
      concurrency: options.concurrency,
      model: {
        choice: options.model,
        parameters: task.model.parameters,
        uploadBytes,
        downloadBytes: first.length,
      },
      phases,
      latencies: Object.fromEntries(recorder.latencies),
      outcomes: Object.fromEntries(recorder.outcomes),
      peakRss,
      peakConnections,
      startSeconds,
    }
  } finally {
    if (sampler) clearInterval(sampler)
    client?.close()
    await Promise.all(replicas.map(stopReplica))
    await probe?.close()
    await database?.drop()
  }
}
