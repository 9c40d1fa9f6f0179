// bench:compression's accuracy part: per model, dataset and codec, one task through a real
// coordinator (loopback HTTP, PGlite in a temp folder) and simulated devices uploading in the codec.
import { createDevice } from '../client/device/index.ts'
import { type Examples, mulberry32, permutation, subset } from '../shared/data/index.ts'
import { encodeIdx } from '../shared/data/formats/index.ts'
import { partitionExamples } from '../shared/data/partition.ts'
import type {
  DatasetSpec,
  DownloadEncoding,
  RoundView,
  TaskView,
} from '../shared/protocol/index.ts'
import type { Codec } from '../shared/tensors/index.ts'
import { readDatasetFiles } from '../data/dataset-files.ts'
import { FASHION_MNIST, FASHION_MNIST_FILES } from '../data/fashion-mnist.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { startCoordinator, waitFor, type Running } from '../integration/harness.ts'
import { seededTrainers } from './compression-device.ts'
import type { BenchDataset, BenchModel, CompressionOptions } from './compression-options.ts'

/** Fashion-MNIST's devices are simulated: none labels by hand. */
const FASHION: DatasetSpec = { ...FASHION_MNIST, deviceLabelling: false }
const LIMITS = { maxExpandedBytes: 2 ** 30, maxExamples: 1_000_000 }
const CLASSES = 10

export interface RoundFigures {
  round: number
  status: RoundView['status']
  reported: number
  rejected: number
  accuracy: number | null
  loss: number | null
  bytesUp: number
  bytesDown: number
}

export interface CodecRun {
  model: BenchModel
  dataset: BenchDataset
  codec: Codec
  /** How the task served its model (float32: the model's own bytes). */
  download: DownloadEncoding
  /** The task's float32 update size (what one float32 upload's payload takes). */
  updateBytes: number
  rounds: RoundFigures[]
  seconds: number
}

/** Training examples (the devices' pool) and held-out ones of one dataset. */
interface Split {
  train: Examples
  heldOut: Examples
}

async function readSplit(dataset: BenchDataset, options: CompressionOptions): Promise<Split> {
  const { train, test } =
    dataset === 'mnist'
      ? await loadMnist()
      : {
          train: await readDatasetFiles(FASHION_MNIST_FILES.train, FASHION, LIMITS),
          test: await readDatasetFiles(FASHION_MNIST_FILES.test, FASHION, LIMITS),
        }
  const pool = options.devices * options.examples
  if (pool > train.count)
    throw new RangeError(
      `--devices × --examples is ${pool}, more than ${dataset}'s ${train.count} training examples`,
    )
  // A seeded sample of the training split; the held-out set's first N (both splits are mixed).
  const order = permutation(train.count, mulberry32(options.seed)).subarray(0, pool)
  const held = Array.from({ length: Math.min(options.heldOut, test.count) }, (_, i) => i)
  return { train: subset(train, order), heldOut: subset(test, held) }
}

/** Declares Fashion-MNIST and uploads its held-out set as a data scientist would (IDX files). */
async function declareFashion(running: Running, heldOut: Examples): Promise<void> {
  const created = await running.admin.call('/api/v1/datasets', {
    method: 'POST',
    body: JSON.stringify(FASHION),
  })
  if (created.status !== 201) throw new Error(`declaring fashion-mnist: ${await created.text()}`)
  const form = new FormData()
  const [h, w] = heldOut.shape
  const files: [Uint8Array, string][] = [
    [encodeIdx(Uint8Array.from(heldOut.features), [heldOut.count, h!, w!]), 'images-idx3-ubyte'],
    [encodeIdx(Uint8Array.from(heldOut.labels), [heldOut.count]), 'labels-idx1-ubyte'],
  ]
  for (const [bytes, name] of files)
    form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), name)
  const put = await running.admin.call('/api/v1/datasets/fashion-mnist/held-out', {
    method: 'PUT',
    body: form,
  })
  if (put.status !== 200) throw new Error(`fashion-mnist's held-out set: ${await put.text()}`)
}

const PURPOSE = 'Measure what compressed weight updates cost in accuracy and save in bytes.'

/** One task's upload codec and download encoding. */
export interface Variant {
  codec: Codec
  download: DownloadEncoding
}

/**
 * The tasks of one model and dataset: each upload codec with float32 downloads, then float32
 * uploads with each compressed download (float16, delta), so one change is measured at a time.
 */
export const variants = (options: Pick<CompressionOptions, 'codecs' | 'downloads'>): Variant[] => [
  ...options.codecs.map((codec) => ({ codec, download: 'float32' as const })),
  ...options.downloads
    .filter((d) => d !== 'float32')
    .map((download) => ({ codec: 'float32' as const, download })),
]

const variantName = ({ codec, download }: Variant) =>
  download === 'float32' ? codec : `${codec}, ${download} downloads`

/** One task in one codec, run to completion by fresh devices holding `shards`. */
async function runCodec(
  running: Running,
  { model, dataset, variant }: { model: BenchModel; dataset: BenchDataset; variant: Variant },
  shards: Examples[],
  options: CompressionOptions,
  log: (line: string) => void,
): Promise<CodecRun> {
  const started = performance.now()
  const { codec, download } = variant
  const name = `${model} on ${dataset}, ${variantName(variant)}`
  const task: TaskView = await running.admin.createTask({
    name,
    purpose: PURPOSE,
    model: { preset: model },
    dataset,
    seed: options.seed,
    train: {
      optimizer: 'sgd',
      learningRate: options.learningRate,
      batchSize: options.batch,
      localEpochs: options.epochs,
    },
    rounds: {
      total: options.rounds,
      clientsPerRound: shards.length,
      minReports: shards.length,
      overSelect: 1,
      deadlineSeconds: 3600,
    },
    compression: {
      uploads: [codec],
      downloads: download === 'float32' ? ['float32'] : ['float32', download],
    },
  })
  const trainers = seededTrainers(shards.length)
  let rejected = 0
  await Promise.all(
    shards.map((examples, i) =>
      createDevice({
        server: running.url,
        trainer: trainers[i]!,
        examples,
        dataset,
        classes: CLASSES,
        backend: 'wasm',
        label: `bench-${i}`,
        codec: () => codec,
        modelEncoding: () => download,
        onEvent: (event) => {
          if (event.type !== 'uploaded') return
          if (event.answer.type !== 'accepted') rejected++
          if (i === 0) log(`  ${name}: round ${event.round} uploaded`)
        },
      }).run(),
    ),
  )
  if (rejected > 0) throw new Error(`${name}: ${rejected} uploads were not accepted`)
  const done = await waitFor(
    async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    },
    60_000,
    `${task.name} to complete`,
  )
  const rounds = (await running.admin.rounds(done.id)).map((r) => ({
    round: r.round,
    status: r.status,
    reported: r.reported,
    rejected: r.rejected,
    accuracy: r.accuracy,
    loss: r.loss,
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
  }))
  return {
    model,
    dataset,
    codec,
    download,
    updateBytes: task.model.updateBytes,
    rounds,
    seconds: (performance.now() - started) / 1000,
  }
}

/** Every (model, dataset, codec) of the options, through one coordinator, one task at a time. */
export async function runAccuracy(
  options: CompressionOptions,
  log: (line: string) => void,
  onRun: (run: CodecRun) => Promise<void> = async () => {},
): Promise<CodecRun[]> {
  const splits = new Map<BenchDataset, Split>()
  for (const dataset of options.datasets) splits.set(dataset, await readSplit(dataset, options))
  const mnistHeldOut = splits.get('mnist')?.heldOut
  const running = await startCoordinator({
    ...(mnistHeldOut ? { heldOut: new Map([['mnist', mnistHeldOut]]) } : {}),
  })
  const runs: CodecRun[] = []
  try {
    const fashion = splits.get('fashion-mnist')
    if (fashion) await declareFashion(running, fashion.heldOut)
    for (const dataset of options.datasets) {
      const { train } = splits.get(dataset)!
      const shards = partitionExamples(train, options.devices, options.shards, options.seed)
      for (const model of options.models)
        for (const variant of variants(options)) {
          const run = await runCodec(running, { model, dataset, variant }, shards, options, log)
          const last = run.rounds.at(-1)
          log(
            `${model} ${dataset} ${variantName(variant)}: accuracy ${last?.accuracy?.toFixed(4) ?? '–'} after ` +
              `${run.rounds.length} rounds, ${run.seconds.toFixed(0)} s`,
          )
          runs.push(run)
          await onRun(run)
        }
    }
  } finally {
    await running.close()
  }
  return runs
}
