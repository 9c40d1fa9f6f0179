// Hostile phones: how much do attacking devices take off the held-out accuracy, under each
// aggregation, against the same task without them?
//
//   npm run bench:attacks [-- --json FILE] [-- --rounds R] [-- --seeds N] [-- --only NAME] [-- --quick]
//
// 20 devices hold 400 MNIST digits each (IID); a mnist-2nn task selects 10 a round and commits
// with at least 9 reports. The first 10% or 30% of the devices attack, every round they are
// selected in:
//   scaled:       trains honestly, uploads its delta × 10⁶;
//   sign-flipped: trains honestly, uploads −delta;
//   inflated:     declares 10,000,000 examples at check-in, claims them (and the steps they
//                 would take) in its update, and uploads −global (a pull towards zero weights);
//   label-flipped: trains honestly on its digits relabelled 9 − y.
// Aggregations: the default (the mean, adaptive norm bound and weight cap), the mean with both
// bounds off (undefended), coordinate-wise median, trimmed mean cutting 30% from each end, and
// Multi-Krum tolerating 3 of 10. Everything runs through the real scheduler (the same check-in,
// upload checks, bounds, aggregation and held-out evaluation as over HTTP; PGlite in memory) and
// the real training core (TF.js wasm); the devices' work and the scheduler's draws are seeded, so
// a run repeats exactly. About 12 minutes a seed on 2 cores, quiet (--quick: 2 attacks, 10%, 8 rounds).
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type Examples, mulberry32, shardIid, subset } from '../shared/data/index.ts'
import { buildModel } from '../shared/models/index.ts'
import {
  type Assignment,
  type CheckinRequest,
  plannedSteps,
  type TaskSpecInput,
  TaskSpecSchema,
} from '../shared/protocol/index.ts'
import { encodeContainer, type NamedTensor } from '../shared/tensors/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { trainLocally } from '../shared/training/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import type { DeviceRecord } from '../server/store/index.ts'
import { virtualScheduler } from './virtual-scheduler.ts'
import { median, range } from './stats.ts'

const DEVICES = 20
const EXAMPLES_PER_DEVICE = 400
/** What an inflating attacker declares and claims: the most a device may declare. */
const INFLATED_EXAMPLES = 10_000_000

const ATTACKS = ['scaled', 'sign-flipped', 'inflated', 'label-flipped'] as const
type Attack = (typeof ATTACKS)[number]

type Aggregation = NonNullable<TaskSpecInput['aggregation']>

const AGGREGATIONS: { name: string; aggregation: Aggregation }[] = [
  { name: 'default (mean, adaptive bounds)', aggregation: {} },
  { name: 'mean, bounds off', aggregation: { normBound: 'off', weightBound: 'off' } },
  { name: 'median', aggregation: { rule: 'median' } },
  { name: 'trimmed mean 30%', aggregation: { rule: 'trimmed-mean', trim: 0.3 } },
  { name: 'multi-krum f=3', aggregation: { rule: 'multi-krum', byzantine: 3 } },
]

const spec = (rounds: number, aggregation: Aggregation): TaskSpecInput => ({
  name: 'attacks',
  purpose: 'Measure what attacking devices do to a digit reader.',
  model: { preset: 'mnist-2nn' },
  seed: 7,
  train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
  rounds: {
    total: rounds,
    clientsPerRound: 10,
    minReports: 9,
    overSelect: 1,
    deadlineSeconds: 60,
  },
  aggregation,
})

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      rounds: { type: 'string', default: '15' },
      seeds: { type: 'string', default: '1' },
      quick: { type: 'boolean', default: false },
      /** Only the aggregations whose name contains this (e.g. "default", "median"). */
      only: { type: 'string' },
    },
  })
  const rounds = Number(values.rounds)
  const seeds = Number(values.seeds)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 200)
    throw new Error(`--rounds must be a whole number from 1 to 200, got ${values.rounds}`)
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 20)
    throw new Error(`--seeds must be a whole number from 1 to 20, got ${values.seeds}`)
  const only = values.only
  if (only !== undefined && !AGGREGATIONS.some((a) => a.name.includes(only)))
    throw new Error(
      `--only must name one of: ${AGGREGATIONS.map((a) => a.name).join('; ')}, got ${only}`,
    )
  return { json: values.json, rounds: values.quick ? 8 : rounds, seeds, quick: values.quick, only }
}

const scale = (tensors: readonly NamedTensor[], by: number): NamedTensor[] =>
  tensors.map((t) => ({ ...t, data: t.data.map((v) => v * by) }))

const flipLabels = (examples: Examples): Examples => ({
  ...examples,
  labels: examples.labels.map((y) => 9 - y),
})

interface Outcome {
  accuracy: number | null
  committed: number
  abandoned: number
  rejected: number
}

/** One task trained to its rounds with `attackers` of the devices running `attack`. */
async function run(
  aggregation: Aggregation,
  shards: Examples[],
  test: Examples,
  rounds: number,
  attack: Attack | null,
  attackers: number,
  seed: number,
): Promise<Outcome> {
  const { clock, store, models, events, scheduler, close } = await virtualScheduler({
    test,
    seed,
    retry: { minSeconds: 1, maxSeconds: 5 },
  })
  const outcome: Outcome = { accuracy: null, committed: 0, abandoned: 0, rejected: 0 }
  events.subscribe(({ event }) => {
    if (event.type !== 'round.closed') return
    if (event.round.status === 'committed') {
      outcome.committed += 1
      outcome.accuracy = event.round.accuracy
    } else outcome.abandoned += 1
  })
  const task = await scheduler.createTask(TaskSpecSchema.parse(spec(rounds, aggregation)))
  const model = buildModel({ preset: 'mnist-2nn' })
  const devices = shards.map((examples, i) => {
    const hostile = attack !== null && i < attackers ? attack : null
    const record: DeviceRecord = {
      id: `device-${i}`,
      tokenHash: `device-${i}`,
      label: `device-${i}`,
      capabilities: null,
      datasets: [],
      enrolledAt: clock.now(),
      lastSeenAt: clock.now(),
    }
    const declared = hostile === 'inflated' ? INFLATED_EXAMPLES : examples.count
    const data = hostile === 'label-flipped' ? flipLabels(examples) : examples
    return { record, hostile, declared, data }
  })
  for (const d of devices) await store.insertDevice(d.record)
  const random = mulberry32(seed + 1)

  /** What a device uploads for `answer`: honest, or its attack. */
  async function update(device: (typeof devices)[number], answer: Assignment) {
    const global = await models.weights(answer.model.hash)
    const result = await trainLocally({
      model,
      weights: global,
      examples: device.data,
      plan: answer.plan,
      seed: Math.floor(random() * 2 ** 31),
    })
    let { delta, examples, steps } = result
    if (device.hostile === 'scaled') delta = scale(delta, 1e6)
    if (device.hostile === 'sign-flipped') delta = scale(delta, -1)
    if (device.hostile === 'inflated') {
      delta = scale(global, -1)
      examples = device.declared
      steps = plannedSteps(answer.plan, device.declared)
    }
    return encodeContainer({
      tensors: delta,
      metadata: { examples, steps, baseModel: answer.model.hash },
    })
  }

  // Each round: every device checks in (in a seeded random order), the selected ones train and
  // upload in that order; a round still open after that closes at its deadline.
  for (let guard = 0; guard < rounds * 3; guard++) {
    if (scheduler.listTasks().find((t) => t.id === task.id)?.status !== 'running') break
    const order = [...devices].sort(() => random() - 0.5)
    const work: { device: (typeof devices)[number]; answer: Assignment }[] = []
    for (const device of order) {
      const request: CheckinRequest = {
        protocolVersion: 1,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples: device.declared, labels: [] }],
      }
      const answer = await scheduler.checkin(device.record, request)
      if (answer.type === 'assignment') work.push({ device, answer })
    }
    for (const { device, answer } of work) {
      const bytes = await update(device, answer)
      const { answer: reply } = await scheduler.upload({
        device: device.record,
        taskId: task.id,
        round: answer.round,
        readBody: () => Promise.resolve(bytes),
      })
      if (reply.type === 'rejected') outcome.rejected += 1
      await scheduler.settled()
    }
    clock.advance(61_000)
    await scheduler.settled()
  }
  await close()
  model.dispose()
  return outcome
}

const pct = (x: number | null) => (x === null ? '–' : (100 * x).toFixed(1))

async function main() {
  const { json, rounds, seeds, quick, only } = options()
  await useBackend('wasm')
  const { train, test } = await loadMnist()
  const attacks: readonly Attack[] = quick ? ['scaled', 'inflated'] : ATTACKS
  const fractions = quick ? [0.1] : [0.1, 0.3]
  const aggregations = AGGREGATIONS.filter(
    (a, i) => (only === undefined || a.name.includes(only)) && (!quick || i < 2),
  )
  // The first DEVICES × EXAMPLES_PER_DEVICE training digits, dealt IID by each seed.
  const examples = subset(
    train,
    Array.from({ length: DEVICES * EXAMPLES_PER_DEVICE }, (_, i) => i),
  )
  type Row = {
    aggregation: string
    attack: Attack | 'none'
    attackers: number
    accuracy: number[]
    median: number | null
    range: [number, number] | null
    /** Median of the per-seed differences from the same aggregation without attackers. */
    drop: number | null
    committed: number
    abandoned: number
    rejected: number
  }
  const rows: Row[] = []
  const began = performance.now()
  for (const { name, aggregation } of aggregations) {
    const clean: number[] = []
    const cases: [Attack | null, number][] = [
      [null, 0],
      ...fractions.flatMap((f) => attacks.map((a): [Attack, number] => [a, f])),
    ]
    for (const [attack, fraction] of cases) {
      const attackers = Math.round(fraction * DEVICES)
      const outcomes: Outcome[] = []
      for (let s = 1; s <= seeds; s++) {
        const shards = shardIid(examples, DEVICES, s)
        outcomes.push(await run(aggregation, shards, test, rounds, attack, attackers, s))
      }
      const accuracy = outcomes.map((o) => o.accuracy ?? 0)
      if (attack === null) clean.push(...accuracy)
      const drops = accuracy.map((a, i) => clean[i]! - a)
      const row: Row = {
        aggregation: name,
        attack: attack ?? 'none',
        attackers,
        accuracy,
        median: accuracy.length ? median(accuracy) : null,
        range: accuracy.length ? range(accuracy) : null,
        drop: attack === null ? null : median(drops),
        committed: median(outcomes.map((o) => o.committed)),
        abandoned: median(outcomes.map((o) => o.abandoned)),
        rejected: median(outcomes.map((o) => o.rejected)),
      }
      rows.push(row)
      console.error(
        `${name}, ${attack ?? 'no attack'}${attack ? ` ×${attackers}` : ''}: accuracy ${pct(row.median)}%` +
          ` (${((performance.now() - began) / 1000).toFixed(0)} s)`,
      )
    }
  }
  console.log(
    `\nAttacks: ${DEVICES} devices × ${EXAMPLES_PER_DEVICE} MNIST digits (IID), mnist-2nn, ` +
      `${rounds} rounds of 10 devices (at least 9 reports), ${seeds} seed${seeds > 1 ? 's' : ''}; ` +
      `held-out accuracy on 2,000 test digits (${new Date().toISOString().slice(0, 10)})\n`,
  )
  console.log(
    '| aggregation | attack | attackers | accuracy % | points lost | rounds committed | updates refused |',
  )
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    const spread = r.range && seeds > 1 ? ` (${pct(r.range[0])}–${pct(r.range[1])})` : ''
    console.log(
      `| ${r.aggregation} | ${r.attack} | ${r.attackers} | ${pct(r.median)}${spread} | ` +
        `${r.drop === null ? '' : (100 * r.drop).toFixed(1)} | ${r.committed} of ${rounds} | ${r.rejected} |`,
    )
  }
  if (json) {
    await writeFile(json, JSON.stringify({ rounds, seeds, quick, rows }, null, 2) + '\n')
    console.log(`\nJSON written to ${json}`)
  }
}

await main()
