// Accuracy per round: FedAvg (McMahan et al. 2017) through Pollen's own training and aggregation,
// beside a PyTorch FedAvg of the same protocol, on a dataset given by its files.
//
//   npm run bench:accuracy [-- --help]
//
// Both sides start from the same initial weights (drawn by Pollen's seeded initialiser and handed
// to PyTorch), hold the same shards (written to files for PyTorch), and train the same devices
// each round (sampled once, here). They differ in their arithmetic and their local shuffles. The
// reference runs in step: each round both sides train at once (PyTorch in its own process), so
// the machine's load falls on both alike. Seconds per round count local training and aggregation,
// one device after another on one thread each side; the held-out evaluation is timed apart.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type DatasetSpec, DatasetSpecSchema } from '../shared/protocol/datasets.ts'
import { useBackend } from '../shared/tf/index.ts'
import { type AccuracyOptions, parseAccuracyOptions, usage } from './accuracy-options.ts'
import { type Curve, curvesCsv, curvesSvg, roundsTo, within } from './accuracy-report.ts'
import {
  childPartition,
  loadData,
  type PartitionRun,
  readRuns,
  runFile,
  runInParallel,
  runPartition,
  writeRun,
} from './accuracy-run.ts'
import type { RoundResult } from './fedavg.ts'
import { median } from './stats.ts'
import { FASHION_MNIST } from '../data/fashion-mnist.ts'

/** bench:accuracy's default dataset: its devices are simulated, none labels by hand. */
export const FASHION_MNIST_SPEC: DatasetSpec = { ...FASHION_MNIST, deviceLabelling: false }

async function datasetSpec(file: string | null): Promise<DatasetSpec> {
  if (file === null) return FASHION_MNIST_SPEC
  const parsed = DatasetSpecSchema.safeParse(JSON.parse(await readFile(file, 'utf8')))
  if (!parsed.success)
    throw new Error(
      `--spec ${file}: ` +
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    )
  return parsed.data
}

/** Per partition: rounds to each target on both sides, seconds per round, final and best accuracy. */
function summarise(options: AccuracyOptions, run: PartitionRun) {
  const reached = options.targets.map((target) => {
    const pollen = roundsTo(run.pollen, target)
    const pytorch = run.pytorch ? roundsTo(run.pytorch, target) : null
    return { target, pollen, pytorch, within: within(pollen, pytorch, options.tolerance) }
  })
  const seconds = (rs: RoundResult[] | null) => (rs ? median(rs.map((r) => r.trainSeconds)) : null)
  const final = (rs: RoundResult[] | null) => rs?.at(-1)?.accuracy ?? null
  const best = (rs: RoundResult[] | null) => (rs ? Math.max(...rs.map((r) => r.accuracy)) : null)
  return {
    partition: run.partition,
    reached,
    secondsPerRound: { pollen: seconds(run.pollen), pytorch: seconds(run.pytorch) },
    finalAccuracy: { pollen: final(run.pollen), pytorch: final(run.pytorch) },
    bestAccuracy: { pollen: best(run.pollen), pytorch: best(run.pytorch) },
  }
}

function printTables(title: string, tolerance: number, rows: ReturnType<typeof summarise>[]) {
  const show = (n: number | null) => (n === null ? '–' : String(n))
  const fixed = (n: number | null, d: number) => (n === null ? '–' : n.toFixed(d))
  console.log(`\n${title}\n`)
  console.log(
    `| partition | target | rounds, Pollen | rounds, PyTorch | within ${Math.round(tolerance * 100)}% |`,
  )
  console.log('| --- | ---: | ---: | ---: | :---: |')
  for (const row of rows)
    for (const r of row.reached)
      console.log(
        `| ${row.partition} | ${r.target} | ${show(r.pollen)} | ${show(r.pytorch)} | ${r.within === null ? '–' : r.within ? 'yes' : 'NO'} |`,
      )
  console.log(
    '\n| partition | final accuracy, Pollen | PyTorch | best, Pollen | PyTorch | s/round, Pollen | PyTorch |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const row of rows)
    console.log(
      `| ${row.partition} | ${fixed(row.finalAccuracy.pollen, 4)} | ${fixed(row.finalAccuracy.pytorch, 4)} | ` +
        `${fixed(row.bestAccuracy.pollen, 4)} | ${fixed(row.bestAccuracy.pytorch, 4)} | ` +
        `${fixed(row.secondsPerRound.pollen, 2)} | ${fixed(row.secondsPerRound.pytorch, 2)} |`,
    )
}

async function main() {
  const options = parseAccuracyOptions(process.argv.slice(2))
  if (options.help) return console.log(usage)
  const started = Date.now()
  const spec = await datasetSpec(options.spec)
  await mkdir(options.out, { recursive: true })
  const child = childPartition()
  const index = (name: string) => options.partitions.findIndex((p) => p.name === name)
  const run = async (name: string, data: Awaited<ReturnType<typeof loadData>>) =>
    runPartition(options, name, data, (r) => writeRun(runFile(options.out, index(name)), r))
  let runs: PartitionRun[]
  if (child) {
    await useBackend('wasm')
    await run(child, await loadData(options, spec))
    return
  } else if (options.reportOnly) {
    runs = await readRuns(options)
  } else if (options.parallel && options.partitions.length > 1) {
    runs = await runInParallel(options)
  } else {
    await useBackend('wasm')
    const data = await loadData(options, spec)
    runs = []
    for (const { name } of options.partitions) runs.push(await run(name, data))
  }

  const { protocol } = options
  const date = new Date().toISOString().slice(0, 10)
  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  const title =
    `FedAvg 2NN on ${spec.name}: K = ${protocol.devices}, C = ${protocol.fraction}, ` +
    `E = ${protocol.localEpochs}, B = ${protocol.batchSize}, lr = ${protocol.learningRate}` +
    (options.torchLearningRate !== protocol.learningRate
      ? ` (PyTorch ${options.torchLearningRate})`
      : '') +
    `, ${Math.max(...runs.map((r) => r.pollen.length))} rounds, seed ${protocol.seed} (${date}` +
    (options.reportOnly ? ')' : `, ${minutes} min)`)
  const rows = runs.map((run) => summarise(options, run))
  printTables(title, options.tolerance, rows)
  const curves: Curve[] = runs.flatMap((run) => [
    { partition: run.partition, side: 'pollen' as const, rounds: run.pollen },
    ...(run.pytorch
      ? [{ partition: run.partition, side: 'pytorch' as const, rounds: run.pytorch }]
      : []),
  ])
  const json = {
    title,
    date,
    dataset: spec.name,
    protocol,
    torchLearningRate: options.torchLearningRate,
    tolerance: options.tolerance,
    summary: rows,
    curves,
  }
  await writeFile(join(options.out, 'accuracy.json'), JSON.stringify(json, null, 2) + '\n')
  await writeFile(join(options.out, 'accuracy.csv'), curvesCsv(curves))
  await writeFile(
    join(options.out, 'accuracy.svg'),
    curvesSvg(curves, { targets: options.targets, title }),
  )
  console.log(`\naccuracy.json, accuracy.csv and accuracy.svg written to ${options.out}`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
