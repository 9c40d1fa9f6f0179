// One partition's FedAvg run for bench:accuracy, both sides interleaved round by round; or each
// partition in a process of its own (--parallel), whose run comes back as a JSON file.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Examples, formatShape, shapeSize } from '../shared/data/index.ts'
import { partitionExamples } from '../shared/data/partition.ts'
import type { DatasetSpec } from '../shared/protocol/datasets.ts'
import { readDatasetFiles } from '../data/dataset-files.ts'
import type { AccuracyOptions } from './accuracy-options.ts'
import { perRound, pollenFedAvg, type RoundResult, sampleRounds, twoNN } from './fedavg.ts'
import { startTorchFedAvg, type TorchFedAvg } from './torch-fedavg.ts'

/** Files of a benchmark dataset: large, but bounded (Fashion-MNIST's train set is 47 MB). */
const LIMITS = { maxExpandedBytes: 2 ** 30, maxExamples: 1_000_000 }

/** Set in a child's environment: the partition it runs. */
const CHILD = 'POLLEN_ACCURACY_PARTITION'

/**
 * Where partition i's run so far goes, rewritten after every round: a run cut short leaves its
 * rounds, which --report-only turns into the tables and curves.
 */
export const runFile = (out: string, i: number): string => join(out, `run-${i}.json`)

export async function writeRun(file: string, run: PartitionRun): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(run))
  await rename(`${file}.tmp`, file)
}

/** The runs an earlier invocation left in `out`, one per partition, in the options' order. */
export async function readRuns(options: AccuracyOptions): Promise<PartitionRun[]> {
  return Promise.all(
    options.partitions.map(async ({ name }, i) => {
      const file = runFile(options.out, i)
      const run = JSON.parse(await readFile(file, 'utf8')) as PartitionRun
      if (run.partition !== name)
        throw new Error(`${file} holds partition ${run.partition}, not ${name}`)
      return run
    }),
  )
}

export interface PartitionRun {
  partition: string
  pollen: RoundResult[]
  /** Null when the reference did not run (--no-torch). */
  pytorch: RoundResult[] | null
}

export interface Data {
  spec: DatasetSpec
  train: Examples
  test: Examples
}

export async function loadData(options: AccuracyOptions, spec: DatasetSpec): Promise<Data> {
  const train = await readDatasetFiles(options.train, spec, LIMITS)
  const test = await readDatasetFiles(options.test, spec, LIMITS)
  const { protocol } = options
  if (protocol.devices > train.count)
    throw new RangeError(
      `--devices ${protocol.devices} is more than the ${train.count} training examples`,
    )
  console.error(
    `${spec.name}: ${train.count} training and ${test.count} held-out examples of ${formatShape(train.shape)}, ` +
      `${spec.classes.length} classes; K = ${protocol.devices}, C = ${protocol.fraction} ` +
      `(${perRound(protocol)} per round), E = ${protocol.localEpochs}, B = ${protocol.batchSize}, ` +
      `lr = ${protocol.learningRate}`,
  )
  return { spec, train, test }
}

/** One partition: shard, then each round both sides train the same devices. */
export async function runPartition(
  options: AccuracyOptions,
  name: string,
  data: Data,
  onRound: (run: PartitionRun) => Promise<void> = async () => {},
): Promise<PartitionRun> {
  const { protocol } = options
  const found = options.partitions.find((p) => p.name === name)
  if (!found) throw new Error(`no partition named ${name}`)
  const shards = partitionExamples(data.train, protocol.devices, found.partition, protocol.seed)
  const spec = twoNN(shapeSize(data.train.shape), data.spec.classes.length)
  const pollen = pollenFedAvg(spec, shards, data.test, protocol)
  let torch: TorchFedAvg | null = null
  const run: PartitionRun = { partition: name, pollen: [], pytorch: options.torch ? [] : null }
  try {
    if (options.torch)
      torch = await startTorchFedAvg({
        shards,
        test: data.test,
        initial: pollen.initial,
        protocol: { ...protocol, learningRate: options.torchLearningRate },
        classes: data.spec.classes.length,
        threads: options.threads,
      })
    for (const [r, devices] of sampleRounds(protocol).entries()) {
      // Both sides train the round at once, PyTorch in its process and Pollen in this one, so
      // a round takes the slower side's time and the machine's load falls on both alike.
      const reference = torch?.round(r + 1, devices)
      reference?.catch(() => {}) // awaited below, after Pollen's side, which may throw first
      const p = await pollen.round(r + 1, devices)
      run.pollen.push(p)
      const t = reference ? await reference : null
      if (t) run.pytorch!.push(t)
      console.error(
        `${name} round ${r + 1}: pollen ${p.accuracy.toFixed(4)} (${p.trainSeconds.toFixed(2)} s)` +
          (t ? `, pytorch ${t.accuracy.toFixed(4)} (${t.trainSeconds.toFixed(2)} s)` : ''),
      )
      await onRound(run)
    }
  } finally {
    pollen.dispose()
    await torch?.close()
  }
  return run
}

/** This process is a --parallel child: the partition it runs, or null. */
export const childPartition = (): string | null => process.env[CHILD] || null

/** Every partition at once, each in a child process running this same command. */
export async function runInParallel(options: AccuracyOptions): Promise<PartitionRun[]> {
  const children: ChildProcess[] = []
  try {
    await Promise.all(
      options.partitions.map(async ({ name }) => {
        const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
          env: { ...process.env, [CHILD]: name },
          stdio: ['ignore', 'inherit', 'inherit'],
        })
        children.push(child)
        const code = await new Promise<number | null>((resolve, reject) => {
          child.once('error', reject)
          child.once('exit', resolve)
        })
        if (code !== 0) throw new Error(`partition ${name}: its process exited (${code})`)
      }),
    )
  } finally {
    // One partition failing stops the others: their runs would be reported nowhere.
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
  return readRuns(options)
}
