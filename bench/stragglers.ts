// Stragglers without bias: does dropping slow phones at the deadline make the model cater to the
// fast ones, and do deadline-aware partial work and FedBuff fix that?
//
//   npm run bench:stragglers [-- --json FILE] [-- --minutes M] [-- --devices N] [-- --seed S]
//
// A population of N devices (default 40), 30% of them 5–10x slower than the rest and holding
// digits 0–2 only, the others holding 3–9, trains mnist-2nn through the real scheduler (PGlite in
// memory, held-out evaluation on the MNIST test split) on a virtual clock: a device's training
// takes examples / its speed of simulated time, while the training itself really runs (TF.js
// wasm), so the models and accuracies are real. Three tasks, one at a time, the same devices:
//   drop:           synchronous FedAvg; updates after the deadline are late and left out;
//   deadline-aware: each device gets the steps it can finish in time at the speed it reported,
//                   and uploads what it has done when the deadline nears (partial work);
//   async:          FedBuff: a new model every 10 updates, staleness-weighted, up to 10 behind.
// For each: simulated seconds to 90% held-out accuracy (null if never within M minutes, default
// 20), the final accuracy, and the mean held-out accuracy on the slow devices' digits 0–2.
// Devices check in at random moments (5–40 s after they last answered), so each round draws
// from whoever is there. About 5 minutes of real time on 2 cores.
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type Examples, mulberry32, subset } from '../shared/data/index.ts'
import { buildModel } from '../shared/models/index.ts'
import {
  type Assignment,
  type CheckinRequest,
  plannedSteps,
  type TaskSpecInput,
  TaskSpecSchema,
} from '../shared/protocol/index.ts'
import { encodeContainer } from '../shared/tensors/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { trainLocally } from '../shared/training/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import type { DeviceRecord } from '../server/store/index.ts'
import { virtualScheduler } from './virtual-scheduler.ts'

const SLOW_LABELS = [0, 1, 2]
const TARGET = 0.9
const EXAMPLES_PER_DEVICE = 150
/** A fast device's training speed, examples per simulated second; slow ones are 5–10x slower. */
const FAST_SPEED = 30

const BASE: TaskSpecInput = {
  name: 'stragglers',
  purpose: 'Train a digit reader; only weight updates leave the phone.',
  model: { preset: 'mnist-2nn' },
  train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localEpochs: 2 },
  rounds: {
    total: 10_000,
    clientsPerRound: 10,
    minReports: 5,
    overSelect: 1.3,
    deadlineSeconds: 20,
  },
}

const SCENARIOS: { name: 'drop' | 'deadline-aware' | 'async'; spec: TaskSpecInput }[] = [
  { name: 'drop', spec: BASE },
  { name: 'deadline-aware', spec: { ...BASE, work: { deadlineAware: true, margin: 0.25 } } },
  {
    name: 'async',
    spec: {
      ...BASE,
      mode: 'async',
      // A device keeps its slot (and its update counts) for up to 10 minutes.
      rounds: { ...BASE.rounds, deadlineSeconds: 600 },
      async: { bufferSize: 10, maxStaleness: 10, stalenessExponent: 0.5, concurrency: 13 },
    },
  },
]

interface ScenarioResult {
  name: string
  timeToTargetSeconds: number | null
  finalAccuracy: number | null
  slowLabelAccuracy: number | null
  rounds: number
}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      minutes: { type: 'string', default: '20' },
      devices: { type: 'string', default: '40' },
      seed: { type: 'string', default: '1' },
    },
  })
  const minutes = Number(values.minutes)
  const devices = Number(values.devices)
  const seed = Number(values.seed)
  if (!(minutes > 0)) throw new Error(`--minutes must be positive, got ${values.minutes}`)
  if (!Number.isInteger(devices) || devices < 10)
    throw new Error(`--devices must be a whole number of at least 10, got ${values.devices}`)
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`)
  return { json: values.json, minutes, devices, seed }
}

/** Each device's examples and speed: the first 30% slow, with digits 0–2; the rest 3–9. */
function population(train: Examples, count: number, seed: number) {
  const random = mulberry32(seed)
  const slowCount = Math.round(count * 0.3)
  const byLabel = (slow: boolean) =>
    Array.from({ length: train.count }, (_, i) => i).filter(
      (i) => SLOW_LABELS.includes(train.labels[i]!) === slow,
    )
  const pools = { slow: byLabel(true), fast: byLabel(false) }
  return Array.from({ length: count }, (_, d) => {
    const slow = d < slowCount
    const pool = slow ? pools.slow : pools.fast
    const picked = Array.from(
      { length: EXAMPLES_PER_DEVICE },
      () => pool[Math.floor(random() * pool.length)]!,
    )
    const speed = slow ? FAST_SPEED / (5 + 5 * random()) : FAST_SPEED
    return { id: `device-${d}`, slow, speed, examples: subset(train, picked) }
  })
}

type Device = ReturnType<typeof population>[number]

/** One task run to the time limit with the whole population, on virtual time. */
async function runScenario(
  name: string,
  spec: TaskSpecInput,
  devices: Device[],
  test: Examples,
  minutes: number,
  seed: number,
): Promise<ScenarioResult> {
  const { clock, store, models, events, scheduler, close } = await virtualScheduler({
    test,
    seed,
    retry: { minSeconds: 1, maxSeconds: 30 },
  })
  const start = clock.now()
  const end = start + minutes * 60_000
  const commits: { at: number; accuracy: number | null; byLabel: (number | null)[] | null }[] = []
  events.subscribe(({ event }) => {
    if (event.type === 'round.closed' && event.round.status === 'committed')
      commits.push({
        at: clock.now(),
        accuracy: event.round.accuracy,
        byLabel: event.round.accuracyByLabel,
      })
  })
  const task = await scheduler.createTask(TaskSpecSchema.parse({ ...spec, name }))
  const model = buildModel({ preset: 'mnist-2nn' })
  const records = new Map<string, DeviceRecord>()
  for (const d of devices) {
    const record: DeviceRecord = {
      id: d.id,
      tokenHash: d.id,
      label: d.id,
      capabilities: null,
      datasets: [],
      enrolledAt: start,
      lastSeenAt: start,
    }
    await store.insertDevice(record)
    records.set(d.id, record)
  }

  // The simulation's events: a device checks in, or uploads what it trained, at a virtual time.
  type Due = { at: number; device: Device; upload?: { answer: Assignment; bytes: Uint8Array } }
  const random = mulberry32(seed + 1)
  // Phones come and go: each checks in at a random moment, and again some time after it answers,
  // so every round's devices are drawn from whoever happens to be there.
  const thinkMs = () => 5_000 + random() * 35_000
  const queue: Due[] = devices.map((device) => ({ at: start + random() * 20_000, device }))
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at)
    const next = queue.shift()!
    // Whole milliseconds, as a real clock gives (the store keeps times as integers).
    next.at = Math.ceil(next.at)
    if (next.at > end) break
    clock.advance(next.at - clock.now())
    await scheduler.settled()
    const { device } = next
    const record = records.get(device.id)!
    if (next.upload) {
      await scheduler.upload({
        device: record,
        taskId: task.id,
        round: next.upload.answer.round,
        readBody: () => Promise.resolve(next.upload!.bytes),
      })
      await scheduler.settled()
      queue.push({ at: clock.now() + thinkMs(), device })
      continue
    }
    const request: CheckinRequest = {
      protocolVersion: 1,
      capabilities: { backend: 'wasm', examplesPerSecond: device.speed },
      datasets: [{ name: 'mnist', examples: device.examples.count, labels: [] }],
    }
    const answer = await scheduler.checkin(record, request)
    if (answer.type === 'none') continue
    if (answer.type === 'retry') {
      queue.push({ at: clock.now() + answer.retryAfterSeconds * 1000, device })
      continue
    }
    // Steps the plan asks for, cut where the deadline nears if the plan says to stop there.
    const { plan } = answer
    let steps = plannedSteps(plan, device.examples.count)
    const perStep = (plan.batchSize / device.speed) * 1000
    let partial = false
    if (plan.partialAtSecondsLeft !== undefined) {
      const stopAt = Date.parse(answer.deadline) - plan.partialAtSecondsLeft * 1000
      const fit = Math.max(1, Math.floor((stopAt - clock.now()) / perStep))
      if (fit < steps) [steps, partial] = [fit, true]
    }
    const result = await trainLocally({
      model,
      weights: await models.weights(answer.model.hash),
      examples: device.examples,
      plan: { ...plan, maxSteps: steps },
      seed: Math.floor(random() * 2 ** 31),
    })
    const bytes = encodeContainer({
      tensors: result.delta,
      metadata: {
        examples: result.examples,
        steps: result.steps,
        baseModel: answer.model.hash,
        ...(partial ? { partial } : {}),
      },
    })
    queue.push({ at: clock.now() + result.steps * perStep, device, upload: { answer, bytes } })
  }
  await scheduler.settled()
  await close()
  model.dispose()

  const hit = commits.find((c) => (c.accuracy ?? 0) >= TARGET)
  const last = commits.at(-1)
  const slowAccuracies = SLOW_LABELS.map((l) => last?.byLabel?.[l]).filter(
    (a): a is number => typeof a === 'number',
  )
  return {
    name,
    timeToTargetSeconds: hit ? Math.round((hit.at - start) / 100) / 10 : null,
    finalAccuracy: last?.accuracy ?? null,
    slowLabelAccuracy:
      slowAccuracies.length > 0
        ? slowAccuracies.reduce((a, b) => a + b, 0) / slowAccuracies.length
        : null,
    rounds: commits.length,
  }
}

const round3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000)

async function main() {
  const { json, minutes, devices: count, seed } = options()
  await useBackend('wasm')
  const { train, test } = await loadMnist()
  const devices = population(train, count, seed)
  const scenarios: ScenarioResult[] = []
  for (const { name, spec } of SCENARIOS) {
    const began = performance.now()
    const result = await runScenario(name, spec, devices, test, minutes, seed)
    scenarios.push({
      ...result,
      finalAccuracy: round3(result.finalAccuracy),
      slowLabelAccuracy: round3(result.slowLabelAccuracy),
    })
    console.error(
      `${name}: ${result.rounds} models in ${minutes} simulated minutes ` +
        `(${((performance.now() - began) / 1000).toFixed(0)} s real)`,
    )
  }
  const slow = devices.filter((d) => d.slow).length
  console.log(
    `\nStragglers: ${count} devices, ${slow} of them 5-10x slower holding digits 0-2; ` +
      `mnist-2nn, ${minutes} simulated minutes (${new Date().toISOString().slice(0, 10)})\n`,
  )
  console.log('| scenario | models | s to 90% | final accuracy | accuracy on digits 0-2 |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const s of scenarios)
    console.log(
      `| ${s.name} | ${s.rounds} | ${s.timeToTargetSeconds ?? 'not reached'} | ${s.finalAccuracy ?? '–'} | ${s.slowLabelAccuracy ?? '–'} |`,
    )
  if (json) {
    const out = scenarios.map(({ rounds: _r, ...s }) => s)
    await writeFile(json, JSON.stringify({ scenarios: out }, null, 2) + '\n')
    console.log(`\nJSON written to ${json}`)
  }
}

await main()
