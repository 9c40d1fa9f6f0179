// bench:compression's command line: every flag bounded where it is read, each refusal naming it.
import { parseArgs } from 'node:util'
import { type Partition, parsePartition, PARTITION_SYNTAX } from '../shared/data/partition.ts'
import { DOWNLOAD_ENCODINGS, type DownloadEncoding } from '../shared/protocol/index.ts'
import { CODECS, type Codec } from '../shared/tensors/index.ts'
import { bounded } from './accuracy-options.ts'

export const MODELS = ['mnist-2nn', 'mnist-cnn', 'synet'] as const
export type BenchModel = (typeof MODELS)[number]
export const DATASETS = ['mnist', 'fashion-mnist'] as const
export type BenchDataset = (typeof DATASETS)[number]
export const PARTS = ['accuracy', 'node', 'chromium'] as const
export type Part = (typeof PARTS)[number]

const DEFAULT_CODECS: readonly Codec[] = ['float32', 'float16', 'int8', 'bbit1', 'bbit2', 'topk']

export const usage = `npm run bench:compression -- [options]

Each codec against float32 (issue 18). accuracy: per model, dataset and codec, one task whose
compression.uploads is [codec] runs R rounds through a real coordinator (real HTTP, PGlite), with
simulated devices (the device runtime, headless) on non-IID shards; the same task seed (initial
model), shards, devices (all of them every round) and training seeds for every codec. Devices
upload through the device runtime's codec part; top-k sends 1% of each tensor's entries (the
container's default), the runtime keeping its residual (error feedback). Recorded per round:
bytes up and down (the round views') and held-out accuracy (the coordinator's evaluation).
node: decode-and-aggregate time per update on the coordinator's path (admission + mean), per codec.
chromium: encode time per update in a Web Worker in Chromium (mnist-2nn- and synet-sized updates).

  --models LIST          ${MODELS.join(', ')} (default mnist-2nn,mnist-cnn)
  --datasets LIST        ${DATASETS.join(', ')} (default both)
  --codecs LIST          ${CODECS.join(', ')} (default ${DEFAULT_CODECS.join(',')});
                         float32, the baseline, is always run first
  --downloads LIST       ${DOWNLOAD_ENCODINGS.join(', ')} (default all three): each one other than
                         float32 is one more task: float32 uploads, the model served so
                         (float16: whole in halves; delta: int8-coded from the model held)
  --parts LIST           ${PARTS.join(', ')} (default all three)
  --devices K            simulated devices, all in every round (default 10; 2..100)
  --examples N           training examples per device (default 100; 10..6000)
  --rounds R             rounds per task (default 10; 1..500)
  --shards HOW           ${PARTITION_SYNTAX} (default classes:2)
  --held-out N           held-out examples each dataset is evaluated on (default 2000; 100..10000;
                         the built-in MNIST holds 2000)
  --epochs E             local epochs (default 1; 1..20)
  --batch B              local batch size (default 10; 1..1000)
  --lr RATE              SGD learning rate (default 0.05; (0, 10])
  --repeats N            timed encodes/decodes per codec and size (default 5; 1..100)
  --seed N               task seed, shards and training shuffles (default 1; 0..2^32-1)
  --quick                a smoke run of a minute or two: mnist-2nn on MNIST, 4 devices of 100
                         examples, 3 rounds, 2 timed repeats
  --out DIR              where compression.json goes (default bench/results)
  --help`

export interface CompressionOptions {
  models: BenchModel[]
  datasets: BenchDataset[]
  codecs: Codec[]
  downloads: DownloadEncoding[]
  parts: Part[]
  devices: number
  examples: number
  rounds: number
  shards: Partition
  shardsName: string
  heldOut: number
  epochs: number
  batch: number
  learningRate: number
  repeats: number
  seed: number
  quick: boolean
  out: string
  help: boolean
}

/** A comma-separated list of distinct names out of `allowed`, or a RangeError naming the flag. */
function names<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const list = text.split(',').map((s) => s.trim())
  const wrong = list.find((s) => !(allowed as readonly string[]).includes(s))
  if (wrong !== undefined || list.length > allowed.length || new Set(list).size !== list.length)
    throw new RangeError(
      `--${flag} must be distinct names out of ${allowed.join(', ')}, got '${text}'`,
    )
  return list as T[]
}

export function parseCompressionOptions(args: readonly string[]): CompressionOptions {
  const { values } = parseArgs({
    // `npm run bench:compression -- --quick -- --rounds 2` passes the second `--` through.
    args: args.filter((a) => a !== '--'),
    strict: true,
    allowPositionals: false,
    options: {
      models: { type: 'string' },
      datasets: { type: 'string' },
      codecs: { type: 'string', default: DEFAULT_CODECS.join(',') },
      downloads: { type: 'string', default: DOWNLOAD_ENCODINGS.join(',') },
      parts: { type: 'string', default: PARTS.join(',') },
      devices: { type: 'string' },
      examples: { type: 'string' },
      rounds: { type: 'string' },
      shards: { type: 'string', default: 'classes:2' },
      'held-out': { type: 'string', default: '2000' },
      epochs: { type: 'string', default: '1' },
      batch: { type: 'string', default: '10' },
      lr: { type: 'string', default: '0.05' },
      repeats: { type: 'string' },
      seed: { type: 'string', default: '1' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  })
  const quick = values.quick
  const codecs = names('codecs', values.codecs, CODECS)
  const whole = (flag: string, text: string, min: number, max: number) =>
    bounded(flag, text, { min, max, integer: true })
  return {
    models: names('models', values.models ?? (quick ? 'mnist-2nn' : 'mnist-2nn,mnist-cnn'), MODELS),
    datasets: names(
      'datasets',
      values.datasets ?? (quick ? 'mnist' : DATASETS.join(',')),
      DATASETS,
    ),
    codecs: ['float32', ...codecs.filter((c) => c !== 'float32')],
    downloads: names('downloads', values.downloads, DOWNLOAD_ENCODINGS),
    parts: names('parts', values.parts, PARTS),
    devices: whole('devices', values.devices ?? (quick ? '4' : '10'), 2, 100),
    examples: whole('examples', values.examples ?? '100', 10, 6000),
    rounds: whole('rounds', values.rounds ?? (quick ? '3' : '10'), 1, 500),
    shards: parsePartition(values.shards, '--shards'),
    shardsName: values.shards,
    heldOut: whole('held-out', values['held-out'], 100, 10_000),
    epochs: whole('epochs', values.epochs, 1, 20),
    batch: whole('batch', values.batch, 1, 1000),
    learningRate: bounded('lr', values.lr, { min: 0, max: 10, above: true }),
    repeats: whole('repeats', values.repeats ?? (quick ? '2' : '5'), 1, 100),
    seed: whole('seed', values.seed, 0, 2 ** 32 - 1),
    quick,
    out: values.out,
    help: values.help,
  }
}
