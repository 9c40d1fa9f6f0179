// bench:accuracy's command line: every flag bounded where it is read, each refusal naming the flag.
import { parseArgs } from 'node:util'
import { type Partition, parsePartition } from '../shared/data/partition.ts'
import type { Protocol } from './fedavg.ts'
import { FASHION_MNIST_DIR, FASHION_MNIST_FILES } from '../data/fashion-mnist.ts'

export const usage = `npm run bench:accuracy -- [options]

FedAvg (McMahan et al. 2017) through Pollen's training and aggregation, beside a PyTorch FedAvg
of the same protocol (same shards, initial weights, sampled devices, B, E, learning rate), on the
2NN (two hidden layers of 200). Defaults: Fashion-MNIST from ${FASHION_MNIST_DIR}.

  --train FILE,FILE      the training files (IDX images and labels, gzipped or not)
  --test FILE,FILE       the held-out files
  --spec FILE            the dataset's declaration (JSON, as POST /api/v1/datasets takes);
                         default: Fashion-MNIST's (28×28×1, its ten class names)
  --devices K            devices, each with its shard (default 100; 1..10000)
  --fraction C           share of devices sampled per round (default 0.1; (0, 1])
  --epochs E             local epochs (default 1; 1..100)
  --batch B              local batch size (default 10; 1..10000)
  --lr RATE              SGD learning rate of both sides (default 0.05; (0, 10])
  --torch-lr RATE        the reference's own, where a sweep found another best (default: --lr)
  --rounds R             rounds per partition (default 100; 1..10000)
  --partitions LIST      comma-separated: iid, classes:N, dirichlet:α (default iid,classes:2)
  --targets LIST         accuracies to time (default 0.75,0.8; each in (0, 1))
  --tolerance T          allowed relative gap in rounds to a target (default 0.25)
  --seed N               initial weights, sharding, sampling, shuffles (default 1; 0..2^32-1)
  --threads N            the reference's torch threads (default 1: Node's TF.js wasm has one)
  --no-torch             Pollen's side only
  --parallel             each partition in its own process, at once (on a shared machine they
                         then get more of it; their seconds per round are then less comparable)
  --out DIR              where accuracy.json, accuracy.csv and accuracy.svg go (default bench/results),
                         and run-N.json, partition N's rounds so far (rewritten every round)
  --report-only          no training: the tables and curves from the run-N.json files in --out
                         (of a run cut short, say), for the same --partitions
  --help`

export interface AccuracyOptions {
  train: string[]
  test: string[]
  spec: string | null
  protocol: Protocol
  torchLearningRate: number
  partitions: { name: string; partition: Partition }[]
  targets: number[]
  tolerance: number
  threads: number
  torch: boolean
  parallel: boolean
  reportOnly: boolean
  out: string
  help: boolean
}

/** A number within [min, max] (integers only when `integer`), or a RangeError naming the flag. */
export function bounded(
  flag: string,
  text: string,
  {
    min,
    max,
    integer = false,
    above = false,
  }: { min: number; max: number; integer?: boolean; above?: boolean },
): number {
  const n = text.trim() === '' ? NaN : Number(text)
  const low = above ? n > min : n >= min
  if (!(Number.isFinite(n) && low && n <= max && (!integer || Number.isInteger(n)))) {
    const kind = integer ? 'a whole number' : 'a number'
    const range = above ? `above ${min} and at most ${max}` : `from ${min} to ${max}`
    throw new RangeError(`--${flag} must be ${kind} ${range}, got '${text}'`)
  }
  return n
}

function fileList(flag: string, text: string): string[] {
  const files = text.split(',').map((f) => f.trim())
  if (files.length < 1 || files.length > 16 || files.some((f) => f === ''))
    throw new RangeError(`--${flag} must be 1 to 16 comma-separated files, got '${text}'`)
  return files
}

export function parseAccuracyOptions(args: string[]): AccuracyOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      train: { type: 'string', default: FASHION_MNIST_FILES.train.join(',') },
      test: { type: 'string', default: FASHION_MNIST_FILES.test.join(',') },
      spec: { type: 'string' },
      devices: { type: 'string', default: '100' },
      fraction: { type: 'string', default: '0.1' },
      epochs: { type: 'string', default: '1' },
      batch: { type: 'string', default: '10' },
      lr: { type: 'string', default: '0.05' },
      'torch-lr': { type: 'string' },
      rounds: { type: 'string', default: '100' },
      partitions: { type: 'string', default: 'iid,classes:2' },
      targets: { type: 'string', default: '0.75,0.8' },
      tolerance: { type: 'string', default: '0.25' },
      seed: { type: 'string', default: '1' },
      threads: { type: 'string', default: '1' },
      'no-torch': { type: 'boolean', default: false },
      parallel: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  })
  const learningRate = bounded('lr', values.lr, { min: 0, max: 10, above: true })
  const names = values.partitions.split(',').map((p) => p.trim())
  if (names.length > 8 || new Set(names).size !== names.length)
    throw new RangeError(
      `--partitions must name 1 to 8 different partitions, got '${values.partitions}'`,
    )
  const targets = values.targets
    .split(',')
    .map((t) => bounded('targets', t, { min: 0, max: 1, above: true }))
  if (targets.length > 8 || targets.some((t) => t >= 1))
    throw new RangeError(`--targets must be 1 to 8 accuracies below 1, got '${values.targets}'`)
  return {
    train: fileList('train', values.train),
    test: fileList('test', values.test),
    spec: values.spec ?? null,
    protocol: {
      devices: bounded('devices', values.devices, { min: 1, max: 10_000, integer: true }),
      fraction: bounded('fraction', values.fraction, { min: 0, max: 1, above: true }),
      localEpochs: bounded('epochs', values.epochs, { min: 1, max: 100, integer: true }),
      batchSize: bounded('batch', values.batch, { min: 1, max: 10_000, integer: true }),
      learningRate,
      rounds: bounded('rounds', values.rounds, { min: 1, max: 10_000, integer: true }),
      seed: bounded('seed', values.seed, { min: 0, max: 2 ** 32 - 1, integer: true }),
    },
    torchLearningRate:
      values['torch-lr'] === undefined
        ? learningRate
        : bounded('torch-lr', values['torch-lr'], { min: 0, max: 10, above: true }),
    partitions: names.map((name) => ({ name, partition: parsePartition(name, '--partitions') })),
    targets,
    tolerance: bounded('tolerance', values.tolerance, { min: 0, max: 10 }),
    threads: bounded('threads', values.threads, { min: 1, max: 64, integer: true }),
    torch: !values['no-torch'],
    parallel: values.parallel,
    reportOnly: values['report-only'],
    out: values.out,
    help: values.help,
  }
}
