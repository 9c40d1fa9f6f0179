// Coordinator benchmark: streaming FedAvg of `synet`-sized updates over real loopback HTTP.
//
//   npm run bench:server [-- --updates 10,50,200] [-- --rounds 5,3,2] [-- --json FILE]
//                        [-- --concurrency 4] [-- --cpu-prof DIR] [-- --codec int8]
//
// For each number of updates per round N, a fresh coordinator runs in a child process
// (bench/server-child.ts) so that its memory is measured alone; this process is the load
// generator. It enrols N devices, creates a one-task run of R rounds with clientsPerRound =
// minReports = N, and for each round checks every device in, then uploads N float32 deltas
// (4.8 MB each) with bounded concurrency. A round's time runs from the first upload to the round
// being committed (the new global model stored); uploads/s = N / that time, median over rounds.
// RSS: `baseline` is the child's RSS just before the first upload; `peak` is its highest RSS
// while rounds ran (exact on Linux: VmHWM, reset before each round; else sampled every 5 ms);
// `startup peak` is its high-water mark before the first upload (PGlite's initdb dominates).
// CPU: the coordinator's and this process's CPU time over each round, per upload, and the
// coordinator's CPU over the round's wall time (the part of a core it got: the load generator
// and anything else running share the machine). Uploads go through node:http, 4 at a time.
// --codec sends every update in that codec (the task accepts it alone; default float32): the
// coordinator then reads and adds compressed frames block by block (issue 18).
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { arch, cpus, platform, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  PROTOCOL_VERSION,
  type CheckinAnswer,
  type CheckinRequest,
  type EnrolAnswer,
  type RoundView,
  type TaskSpecInput,
  type TaskView,
  type UploadAnswer,
} from '../shared/protocol/index.ts'
import {
  type Codec,
  CODECS,
  decodeContainerHeader,
  encodeContainer,
} from '../shared/tensors/index.ts'
import { randomDeltas } from './deltas.ts'

const SYNET_PARAMETERS = 1_199_882
const MB = 1e6
/** Distinct delta bodies the load generator cycles through (its own memory is not measured). */
const BODIES = 4

interface Options {
  updates: number[]
  rounds: number[] | undefined
  concurrency: number
  json: string | undefined
  cpuProf: string | undefined
  codec: Codec
}

export interface Result {
  updates: number
  rounds: number
  codec: Codec
  uploadsPerSecond: number
  megabytesPerSecond: number
  /** Median wall time of a round, first upload to committed model. */
  roundSeconds: number
  /** Median time from the last upload's answer to the round being committed. */
  commitSeconds: number
  /** Peak RSS while rounds ran (first upload to commit), startup excluded. */
  peakRssMB: number
  /** 'exact' (Linux VmHWM, reset before each round) or 'sampled' (every 5 ms). */
  peakRssSource: 'exact' | 'sampled'
  baselineRssMB: number
  /** Peak RSS of the coordinator's startup (PGlite's initdb dominates), before any upload. */
  startupPeakRssMB: number
  /** RSS once the rounds were over. */
  afterRssMB: number
  /** CPU time per upload while rounds ran (first upload to commit), median over rounds. */
  coordinatorCpuMsPerUpload: number
  /** The load generator's (this process's) CPU per upload: it shares the machine's cores. */
  loadCpuMsPerUpload: number
  /** Coordinator CPU time over round time: the part of one core it got, median over rounds. */
  coordinatorCores: number
  /** Requests the coordinator shed while rounds ran (sent again after SHED_RETRY_MS). */
  shedInRounds: number
}

interface Memory {
  rss: number
  sampledPeakRss: number
  highWaterRss: number | null
  maxRss: number
  heapUsed: number
  external: number
  arrayBuffers: number
  cpuMicros: number
}

function readOptions(): Options {
  const { values } = parseArgs({
    // `npm run bench:server -- --json F -- --updates 10` passes the second `--` through: skip it.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      updates: { type: 'string', default: '10,50,200' },
      rounds: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      codec: { type: 'string', default: 'float32' },
    },
    strict: true,
    allowPositionals: false,
  })
  const list = (name: string, text: string) => {
    const numbers = text.split(',').map((s) => Number(s.trim()))
    if (numbers.length === 0 || !numbers.every((n) => Number.isSafeInteger(n) && n >= 1))
      throw new Error(`--${name} takes positive integers separated by commas, got ${text}`)
    return numbers
  }
  const updates = list('updates', values.updates)
  const rounds = values.rounds === undefined ? undefined : list('rounds', values.rounds)
  if (rounds && rounds.length !== 1 && rounds.length !== updates.length)
    throw new Error('--rounds takes one number, or one per --updates entry')
  const [concurrency] = list('concurrency', values.concurrency)
  const codec = values.codec as Codec
  if (!CODECS.includes(codec)) throw new Error(`--codec takes one of ${CODECS.join(', ')}`)
  return {
    updates,
    rounds,
    concurrency: concurrency!,
    json: values.json,
    cpuProf: values['cpu-prof'],
    codec,
  }
}

/** Rounds per configuration: enough for a median, a few hundred uploads at most. */
const defaultRounds = (updates: number) => Math.min(5, Math.max(2, Math.floor(150 / updates)))

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `work` on every item with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

// ---- the child ------------------------------------------------------------------------------

interface Child {
  process: ChildProcess
  base: string
  exited: Promise<number | null>
}

async function startChild(adminToken: string, cpuProf: string | undefined): Promise<Child> {
  const entry = fileURLToPath(new URL('./server-child.ts', import.meta.url))
  const child = fork(entry, [], {
    execArgv: ['--import', 'tsx', ...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : [])],
    env: { ...process.env, POLLEN_BENCH_ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { type: string; port: number }) => {
      if (message.type === 'ready') resolve(message.port)
      else reject(new Error(`unexpected message from the coordinator: ${message.type}`))
    })
    void exited.then((code) => reject(new Error(`the coordinator exited (${code}) at startup`)))
  })
  return { process: child, base: `http://127.0.0.1:${port}`, exited }
}

async function stopChild(child: Child) {
  child.process.send({ type: 'stop' })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 30_000)
  })
  const outcome = await Promise.race([child.exited, timeout])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    child.process.kill('SIGKILL')
    throw new Error('the coordinator did not stop within 30 s')
  }
}

// ---- HTTP -----------------------------------------------------------------------------------

/**
 * Requests the coordinator shed (503, or a check-in answered `retry`) since the last reset. The
 * benchmark sends them again after SHED_RETRY_MS rather than the Retry-After seconds an honest
 * phone waits: on a loaded machine the coordinator sheds now and then, and a wait of seconds would
 * measure the wait. Reported beside the figures, so a run that shed is seen.
 */
let shed = 0
const SHED_RETRY_MS = 20
const SHED_RETRIES = 500

/** `send()`'s response, sent again while the coordinator sheds it (503). */
async function unshed(send: () => Promise<Response>): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await send()
    if (response.status !== 503 || attempt >= SHED_RETRIES) return response
    await response.arrayBuffer()
    shed++
    await sleep(SHED_RETRY_MS)
  }
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<T> {
  const response = await unshed(() =>
    fetch(base + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
  )
  if (!response.ok)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** Keeps one connection per upload in flight, as phones each keep theirs. */
const agent = new Agent({ keepAlive: true })

/**
 * An upload through node:http rather than fetch: undici spent ~25 ms of CPU per 4.8 MB body,
 * on the two cores the coordinator needs; node:http writes the buffer to the socket as it is.
 */
function post(url: string, token: string, body: Uint8Array): Promise<Response> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': body.length,
        },
      },
      (incoming) => {
        const chunks: Buffer[] = []
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
        incoming.on('error', reject)
        incoming.on('end', () =>
          resolve(new Response(Buffer.concat(chunks), { status: incoming.statusCode ?? 0 })),
        )
      },
    )
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

const memory = (base: string, reset = false) =>
  call<Memory>(base, 'GET', `/bench/memory${reset ? '?reset' : ''}`, undefined)

const CHECKIN: CheckinRequest = {
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { backend: 'wasm' },
  // Declared at check-in: what an update may claim is bounded by it (and by steps × batchSize).
  datasets: [{ name: 'mnist', examples: 120, labels: [12, 12, 12, 12, 12, 12, 12, 12, 12, 12] }],
}

// ---- one configuration ----------------------------------------------------------------------

async function measure(
  updates: number,
  rounds: number,
  options: Options,
  progress: (line: string) => void,
): Promise<Result> {
  const adminToken = randomBytes(24).toString('base64url')
  let clock = performance.now()
  const lap = () => {
    const now = performance.now()
    const seconds = ((now - clock) / 1000).toFixed(1)
    clock = now
    return `${seconds} s`
  }
  const child = await startChild(adminToken, options.cpuProf)
  progress(`  ${updates} updates per round: coordinator started in ${lap()}`)
  try {
    const { base } = child
    const spec: TaskSpecInput = {
      name: `bench: ${updates} synet updates per round`,
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'synet' },
      compression: { uploads: [options.codec] },
      dataset: 'mnist',
      rounds: {
        total: rounds,
        clientsPerRound: updates,
        minReports: updates,
        overSelect: 1,
        deadlineSeconds: 3600,
      },
    }
    const task = await call<TaskView>(base, 'POST', '/api/v1/tasks', adminToken, spec)
    if (task.model.parameters !== SYNET_PARAMETERS)
      throw new Error(`synet has ${task.model.parameters} parameters, expected ${SYNET_PARAMETERS}`)

    const tokens: string[] = []
    await pool(
      Array.from({ length: updates }, (_, i) => i),
      8,
      async () => {
        const enrolled = await call<EnrolAnswer>(base, 'POST', '/api/v1/devices', undefined, {
          protocolVersion: PROTOCOL_VERSION,
        })
        tokens.push(enrolled.token)
      },
    )

    // The tensor layout, as a device learns it: from the model it downloads (header only).
    const download = await fetch(`${base}/api/v1/models/${task.model.hash}`, {
      headers: { authorization: `Bearer ${tokens[0]}` },
    })
    if (!download.ok) throw new Error(`model download: ${download.status}`)
    const layout = decodeContainerHeader(new Uint8Array(await download.arrayBuffer())).tensors
    const deltas = Array.from({ length: BODIES }, (_, k) => randomDeltas(layout, k + 1))
    progress(`  task created, ${updates} devices enrolled in ${lap()}`)

    const times: number[] = []
    const commits: number[] = []
    const coordinatorCpu: number[] = []
    const loadCpuPerUpload: number[] = []
    const cores: number[] = []
    let shedInRounds = 0
    let baseline: Memory | undefined
    let roundPeak = 0
    let exact = true
    for (let r = 1; r <= rounds; r++) {
      const assignments: { token: string; uploadUrl: string }[] = []
      let baseModel = ''
      await pool(tokens, 8, async (token) => {
        let answer: CheckinAnswer
        for (;;) {
          answer = await call<CheckinAnswer>(
            base,
            'POST',
            '/api/v1/devices/checkin',
            token,
            CHECKIN,
          )
          if (answer.type !== 'retry') break
          shed++
          await sleep(SHED_RETRY_MS)
        }
        if (answer.type !== 'assignment' || answer.round !== r)
          throw new Error(`round ${r}: check-in answered ${JSON.stringify(answer)}`)
        baseModel = answer.model.hash
        assignments.push({ token, uploadUrl: answer.uploadUrl })
      })
      // encodeContainer allocates a fresh ArrayBuffer, which fetch's BodyInit type wants.
      const bodies = deltas.map(
        (tensors, k) =>
          encodeContainer({
            tensors,
            metadata: { examples: 100 + (k % 20), steps: 4, baseModel },
            codec: options.codec,
            seed: k + 1,
          }) as Uint8Array<ArrayBuffer>,
      )
      const before = await memory(base, true)
      baseline ??= before

      shed = 0
      const loadCpuBefore = process.cpuUsage()
      const started = performance.now()
      let lastAnswer = started
      let sent = 0
      await pool(assignments, options.concurrency, async ({ token, uploadUrl }) => {
        const body = bodies[sent++ % bodies.length]!
        const response = await unshed(() => post(base + uploadUrl, token, body))
        const answer = (await response.json()) as UploadAnswer
        if (response.status !== 200 || answer.type !== 'accepted')
          throw new Error(
            `round ${r}: upload answered ${response.status} ${JSON.stringify(answer)}`,
          )
        lastAnswer = performance.now()
      })
      for (;;) {
        const { rounds: list } = await call<{ rounds: RoundView[] }>(
          base,
          'GET',
          `/api/v1/tasks/${task.id}/rounds`,
          adminToken,
        )
        const status = list.find((x) => x.round === r)?.status
        if (status === 'committed') break
        if (status !== 'open') throw new Error(`round ${r} ended ${status}`)
        await sleep(2)
      }
      const done = performance.now()
      const loadCpu = process.cpuUsage(loadCpuBefore)
      times.push((done - started) / 1000)
      commits.push((done - lastAnswer) / 1000)
      const after = await memory(base)
      const coordinatorMs = (after.cpuMicros - before.cpuMicros) / 1000
      coordinatorCpu.push(coordinatorMs / updates)
      loadCpuPerUpload.push((loadCpu.user + loadCpu.system) / 1000 / updates)
      cores.push(coordinatorMs / (done - started))
      shedInRounds += shed
      if (after.highWaterRss === null) exact = false
      const peak = after.highWaterRss ?? after.sampledPeakRss
      roundPeak = Math.max(roundPeak, peak)
      progress(
        `  ${updates} updates, round ${r}/${rounds}: ${((done - started) / 1000).toFixed(2)} s, ` +
          `${(updates / ((done - started) / 1000)).toFixed(1)} uploads/s, ` +
          `RSS ${(before.rss / MB).toFixed(0)} → peak ${(peak / MB).toFixed(0)} MB, ` +
          `CPU ms/upload: coordinator ${coordinatorCpu.at(-1)!.toFixed(1)}, ` +
          `load ${loadCpuPerUpload.at(-1)!.toFixed(1)}` +
          (shed > 0 ? `, ${shed} shed` : ''),
      )
    }
    const end = await memory(base)
    const bodyBytes = encodeContainer({
      tensors: deltas[0]!,
      metadata: { examples: 100, steps: 4, baseModel: task.model.hash },
      codec: options.codec,
      seed: 1,
    }).length
    const seconds = median(times)
    return {
      updates,
      rounds,
      codec: options.codec,
      uploadsPerSecond: round1(updates / seconds),
      megabytesPerSecond: round1((updates * bodyBytes) / MB / seconds),
      roundSeconds: round3(seconds),
      commitSeconds: round3(median(commits)),
      peakRssMB: round1(roundPeak / MB),
      peakRssSource: exact ? 'exact' : 'sampled',
      baselineRssMB: round1(baseline!.rss / MB),
      startupPeakRssMB: round1(baseline!.maxRss / MB),
      afterRssMB: round1(end.rss / MB),
      coordinatorCpuMsPerUpload: round1(median(coordinatorCpu)),
      loadCpuMsPerUpload: round1(median(loadCpuPerUpload)),
      coordinatorCores: round3(median(cores)),
      shedInRounds,
    }
  } finally {
    lap()
    await stopChild(child)
    progress(`  coordinator stopped in ${lap()}`)
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round3 = (x: number) => Math.round(x * 1000) / 1000

function table(results: readonly Result[]): string {
  const head =
    '| updates/round | rounds | uploads/s (median) | MB/s | round s (median) | commit s | ' +
    'baseline RSS MB | peak RSS MB in rounds | RSS MB after | startup peak RSS MB | ' +
    'coordinator CPU ms/upload | load CPU ms/upload | coordinator cores | shed |'
  const rule = '|' + '---:|'.repeat(14)
  const rows = results.map(
    (r) =>
      `| ${r.updates} | ${r.rounds} | ${r.uploadsPerSecond} | ${r.megabytesPerSecond} | ` +
      `${r.roundSeconds} | ${r.commitSeconds} | ${r.baselineRssMB} | ${r.peakRssMB} | ` +
      `${r.afterRssMB} | ${r.startupPeakRssMB} | ${r.coordinatorCpuMsPerUpload} | ` +
      `${r.loadCpuMsPerUpload} | ${r.coordinatorCores} | ${r.shedInRounds} |`,
  )
  return [head, rule, ...rows].join('\n')
}

async function main() {
  const options = readOptions()
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: round1(totalmem() / 2 ** 30),
    platform: `${platform()} ${release()} ${arch()}`,
    node: process.version,
  }
  console.log(
    `Pollen coordinator benchmark: synet updates (${SYNET_PARAMETERS} parameters, ${options.codec}), ` +
      `upload concurrency ${options.concurrency}, ${machine.cores} cores (${machine.cpu})`,
  )
  const results: Result[] = []
  for (const [i, updates] of options.updates.entries()) {
    const rounds = options.rounds
      ? (options.rounds[i] ?? options.rounds[0]!)
      : defaultRounds(updates)
    results.push(await measure(updates, rounds, options, (line) => console.log(line)))
  }
  console.log()
  console.log(table(results))
  console.log()
  console.log('MB = 10^6 bytes. Round time: first upload to new model committed.')
  if (options.json) {
    const report = {
      results,
      machine,
      settings: {
        parameters: SYNET_PARAMETERS,
        concurrency: options.concurrency,
        codec: options.codec,
      },
      date: new Date().toISOString(),
    }
    await writeFile(options.json, JSON.stringify(report, null, 2) + '\n')
    console.log(`wrote ${options.json}`)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
