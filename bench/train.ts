// On-device training speed: the preset models trained with Pollen's training core, beside the
// same models trained natively by PyTorch on the CPU with the same thread count.
//
//   npm run bench:train [-- --json FILE] [-- --examples N] [-- --models synet,mnist-cnn,mnist-2nn]
//
// Runtimes measured here: Node on TF.js's wasm backend, and the native reference
// (bench/torch_reference.py, Debian's python3-torch, run with 1 and 2 threads). Each model trains
// on N random 28x28 inputs (4N for mnist-2nn, as the reference does) at batch 64 with SGD, after
// one warm-up epoch; examples/s = N / the timed epoch. Peak memory is this process's peak RSS
// while the model trained (Linux VmHWM). ratioToNative = examples/s over the reference's at the
// same thread count.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Digits } from '../shared/data/index.ts'
import { buildModel, getWeights, type PresetName } from '../shared/models/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { trainLocally } from '../shared/training/index.ts'
import { highWaterMark } from './memory.ts'

const MODELS: readonly PresetName[] = ['synet', 'mnist-cnn', 'mnist-2nn']
const BATCH = 64
const MB = 1024 * 1024
const REFERENCE = fileURLToPath(new URL('torch_reference.py', import.meta.url))
const PYTHON = '/usr/bin/python3'

export interface TrainResult {
  model: PresetName
  runtime: string
  threads: number
  examplesPerSecond: number
  msPerBatch: number
  peakMemoryMB: number | null
  ratioToNative: number | null
}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      examples: { type: 'string', default: '640' },
      models: { type: 'string', default: MODELS.join(',') },
    },
  })
  const examples = Number(values.examples)
  if (!Number.isInteger(examples) || examples < BATCH)
    throw new Error(
      `--examples must be a whole number of at least ${BATCH}, got ${values.examples}`,
    )
  const models = values.models.split(',').map((m) => {
    const found = MODELS.find((known) => known === m)
    if (!found) throw new Error(`--models: unknown model '${m}' (one of ${MODELS.join(', ')})`)
    return found
  })
  return { json: values.json, examples, models }
}

/** Random digits: a training step costs the same whatever the pixels say. */
function randomDigits(count: number, seed: number): Digits {
  let state = seed
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0)
  const pixels = Uint8Array.from({ length: count * 784 }, () => next() >>> 24)
  const labels = Uint8Array.from({ length: count }, () => next() % 10)
  return { count, rows: 28, cols: 28, pixels, labels }
}

/** One model on TF.js wasm in this process: a warm-up epoch, then a timed one. */
async function nodeWasm(
  model: PresetName,
  examples: number,
): Promise<Omit<TrainResult, 'ratioToNative'>> {
  const count = model === 'mnist-2nn' ? examples * 4 : examples
  const digits = randomDigits(count, 7)
  const built = buildModel({ preset: model })
  const weights = getWeights(built)
  const plan = { optimizer: 'sgd' as const, learningRate: 0.01, batchSize: BATCH, localEpochs: 1 }
  try {
    await trainLocally({ model: built, weights, examples: digits, plan, seed: 1 }) // warm-up
    highWaterMark.reset()
    const start = performance.now()
    const result = await trainLocally({ model: built, weights, examples: digits, plan, seed: 2 })
    const seconds = (performance.now() - start) / 1000
    const peak = highWaterMark.read()
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm')
    return {
      model,
      runtime: 'node-wasm',
      threads: getThreadsCount(),
      examplesPerSecond: round1(count / seconds),
      msPerBatch: round1((seconds * 1000) / result.steps),
      peakMemoryMB: peak === null ? null : round1(peak / MB),
    }
  } finally {
    built.dispose()
  }
}

/** PyTorch on the CPU, as bench/torch_reference.py measures it; null where it cannot run. */
function native(models: readonly PresetName[], threads: number, examples: number) {
  if (!existsSync(PYTHON)) return null
  const run = spawnSync(
    PYTHON,
    [
      REFERENCE,
      '--threads',
      String(threads),
      '--examples',
      String(examples),
      '--models',
      models.join(','),
    ],
    { encoding: 'utf8', timeout: 30 * 60_000 },
  )
  if (run.status !== 0) {
    console.error(
      `the PyTorch reference did not run (apt-get install -y python3-torch):\n${run.stderr}`,
    )
    return null
  }
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { model: PresetName; examplesPerSecond: number })
    .map(({ model, examplesPerSecond }) => ({
      model,
      runtime: 'pytorch-cpu',
      threads,
      examplesPerSecond,
      msPerBatch: round1((1000 * BATCH) / examplesPerSecond),
      peakMemoryMB: null,
    }))
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round2 = (x: number) => Math.round(x * 100) / 100

async function main() {
  const { json, examples, models } = options()
  await useBackend('wasm')
  const measured: Omit<TrainResult, 'ratioToNative'>[] = []
  for (const model of models) {
    measured.push(await nodeWasm(model, examples))
    console.error(`node-wasm ${model}: ${measured.at(-1)!.examplesPerSecond} examples/s`)
  }
  const threads = [...new Set([1, Math.min(2, cpus().length)])]
  for (const t of threads) {
    const reference = native(models, t, examples)
    if (reference) measured.push(...reference)
  }
  const results: TrainResult[] = measured.map((r) => {
    const reference = measured.find(
      (n) => n.runtime === 'pytorch-cpu' && n.model === r.model && n.threads === r.threads,
    )
    return {
      ...r,
      ratioToNative:
        reference && r.runtime !== 'pytorch-cpu'
          ? round2(r.examplesPerSecond / reference.examplesPerSecond)
          : null,
    }
  })

  console.log(
    `\nTraining speed, batch ${BATCH}, SGD (${cpus().length} cores, ${new Date().toISOString().slice(0, 10)})\n`,
  )
  console.log('| model | runtime | threads | examples/s | ms/batch | peak MB | × native |')
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results)
    console.log(
      `| ${r.model} | ${r.runtime} | ${r.threads} | ${r.examplesPerSecond} | ${r.msPerBatch} | ${r.peakMemoryMB ?? '–'} | ${r.ratioToNative ?? '–'} |`,
    )
  if (json) {
    await writeFile(json, JSON.stringify({ results }, null, 2) + '\n')
    console.log(`\nJSON written to ${json}`)
  }
}

await main()
