// On-device training speed: the preset models trained with Pollen's training core, beside the
// same models trained natively by PyTorch on the CPU with the same thread count.
//
//   npm run bench:train [-- --json FILE] [-- --examples N] [-- --repeats R] [-- --quick]
//                       [-- --models synet,mnist-cnn,mnist-2nn] [-- --cpu] [-- --swiftshader]
//
// Runtimes (bench/train-runtimes.ts): Node on TF.js's wasm backend, and the phone app's training
// worker in Chromium on wasm with 1 and 2 threads, on webgpu, and on cpu with --cpu. The native
// reference is bench/torch_reference.py --serve (Debian's python3-torch), one process per thread
// count, kept running. Each model trains on N random 28x28 inputs (4N for mnist-2nn) at batch 64
// with SGD. After a warm-up epoch on each side, the bench takes R pairs: one PyTorch epoch, then
// one epoch of the runtime, at the same thread count. Each pair gives a ratio from two adjacent
// measurements, so the machine's drift over minutes cancels out of it; the table shows the
// median examples/s of each side, the median of the R ratios and their range (min–max).
// --quick (N = 128, R = 2 unless given) checks that it all runs; its figures mean little.
// Peak memory is the peak RSS (Linux VmHWM) while the timed epochs ran: Node's own, or the
// largest Chromium renderer's (the page's, whose worker trains).
import { writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { MnistPresetName } from '../shared/models/index.ts'
import { type Reference, startReference } from './reference.ts'
import { median, type Pair, range, summarise } from './stats.ts'
import { BATCH, inputsFor, type Runtime, runtimes } from './train-runtimes.ts'

const MODELS: readonly MnistPresetName[] = ['synet', 'mnist-cnn', 'mnist-2nn']
const MB = 1024 * 1024
/**
 * A repeat of every model on node-wasm and chromium-wasm 1 and 2 threads, with its PyTorch epochs,
 * should take about 25 s on 2 quiet cores (estimated from their examples/s): 9 keep a run near
 * 5 minutes.
 */
const REPEATS = 9
const EXAMPLES = 640

export interface TrainResult {
  model: MnistPresetName
  runtime: string
  threads: number
  /** Random inputs each timed epoch trained on. */
  examples: number
  /** Median examples/s of the timed epochs, and their range. */
  examplesPerSecond: number
  examplesPerSecondRange: [number, number]
  msPerBatch: number
  peakMemoryMB: number | null
  /** Median examples/s of the PyTorch epochs paired with this row's, and their range; null without. */
  referenceExamplesPerSecond: number | null
  referenceExamplesPerSecondRange: [number, number] | null
  /** Median of the per-pair ratios examples/s over PyTorch's, and their range. */
  ratioToNative: number | null
  ratioRange: [number, number] | null
  /** Each repeat's examples/s, in order; for a runtime, with the PyTorch epoch just before it. */
  epochs: number[]
  referenceEpochs: (number | null)[] | null
}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      examples: { type: 'string' },
      repeats: { type: 'string' },
      quick: { type: 'boolean', default: false },
      models: { type: 'string', default: MODELS.join(',') },
      swiftshader: { type: 'boolean', default: false },
      cpu: { type: 'boolean', default: false },
    },
  })
  const { json, quick, swiftshader, cpu } = values
  const examples = Number(values.examples ?? (quick ? 128 : EXAMPLES))
  if (!Number.isInteger(examples) || examples < BATCH)
    throw new Error(
      `--examples must be a whole number of at least ${BATCH}, got ${values.examples}`,
    )
  const repeats = Number(values.repeats ?? (quick ? 2 : REPEATS))
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`--repeats must be a whole number of at least 1, got ${values.repeats}`)
  const models = values.models.split(',').map((m) => {
    const found = MODELS.find((known) => known === m)
    if (!found) throw new Error(`--models: unknown model '${m}' (one of ${MODELS.join(', ')})`)
    return found
  })
  return { json, examples, repeats, models, swiftshader, cpu }
}

/** R pairs of one model on one runtime: a PyTorch epoch (where there is one), then the runtime's. */
async function measure(
  runtime: Runtime,
  model: MnistPresetName,
  reference: Reference | null,
  { examples, repeats }: { examples: number; repeats: number },
): Promise<TrainResult> {
  const session = await runtime.open(model)
  try {
    const pairs: Pair[] = []
    let steps = 1
    for (let r = 0; r < repeats; r++) {
      const native = reference ? await reference.epoch(model, inputsFor(model, examples)) : null
      const epoch = await session.epoch()
      pairs.push({ reference: native, runtime: session.examples / epoch.seconds })
      steps = epoch.steps
    }
    const summary = summarise(pairs)
    const peak = session.peak()
    const row: TrainResult = {
      model,
      runtime: runtime.name,
      threads: runtime.threads,
      examples: session.examples,
      examplesPerSecond: round1(summary.runtime.median),
      examplesPerSecondRange: summary.runtime.range.map(round1) as [number, number],
      msPerBatch: round1((1000 * session.examples) / summary.runtime.median / steps),
      peakMemoryMB: peak === null ? null : round1(peak / MB),
      referenceExamplesPerSecond: summary.reference ? round1(summary.reference.median) : null,
      referenceExamplesPerSecondRange: summary.reference
        ? (summary.reference.range.map(round1) as [number, number])
        : null,
      ratioToNative: summary.ratio ? round2(summary.ratio.median) : null,
      ratioRange: summary.ratio ? (summary.ratio.range.map(round2) as [number, number]) : null,
      epochs: pairs.map((p) => round1(p.runtime)),
      referenceEpochs: reference
        ? pairs.map((p) => (p.reference === null ? null : round1(p.reference)))
        : null,
    }
    console.error(
      `${row.runtime} (${row.threads} thread(s)) ${model}: ${row.examplesPerSecond} examples/s` +
        (row.ratioToNative === null
          ? ''
          : `, ${row.ratioToNative.toFixed(2)}× PyTorch (${row.ratioRange!.map((x) => x.toFixed(2)).join('–')})`),
    )
    return row
  } finally {
    session.close()
  }
}

/** One row per model and thread count for PyTorch itself: all its epochs, whichever they paired. */
function referenceRows(results: readonly TrainResult[], examples: number): TrainResult[] {
  const rows: TrainResult[] = []
  for (const model of new Set(results.map((r) => r.model)))
    for (const threads of new Set(results.map((r) => r.threads))) {
      const epochs = results
        .filter((r) => r.model === model && r.threads === threads)
        .flatMap((r) => (r.referenceEpochs ?? []).filter((e) => e !== null))
      if (epochs.length === 0) continue
      const eps = median(epochs)
      rows.push({
        model,
        runtime: 'pytorch-cpu',
        threads,
        examples: inputsFor(model, examples),
        examplesPerSecond: round1(eps),
        examplesPerSecondRange: range(epochs).map(round1) as [number, number],
        msPerBatch: round1((1000 * BATCH) / eps),
        peakMemoryMB: null,
        referenceExamplesPerSecond: null,
        referenceExamplesPerSecondRange: null,
        ratioToNative: null,
        ratioRange: null,
        epochs,
        referenceEpochs: null,
      })
    }
  return rows
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round2 = (x: number) => Math.round(x * 100) / 100

async function main() {
  const { json, examples, repeats, models, swiftshader, cpu } = options()
  const started = Date.now()
  const threads = [...new Set([1, Math.min(2, cpus().length)])]
  const references = new Map<number, Reference>()
  for (const t of threads) {
    const reference = await startReference(t, BATCH)
    if (reference) references.set(t, reference)
  }
  const results: TrainResult[] = []
  try {
    for await (const runtime of runtimes({ examples, swiftshader, cpu })) {
      const reference = references.get(runtime.threads) ?? null
      try {
        for (const model of models)
          results.push(await measure(runtime, model, reference, { examples, repeats }))
      } catch (error) {
        // One runtime failing leaves the others measured, and says why.
        console.error(`${runtime.name}: failed, not measured (${String(error).split('\n')[0]})`)
      }
    }
  } finally {
    for (const reference of references.values()) reference.close()
  }
  results.push(...referenceRows(results, examples))
  results.sort((a, b) => models.indexOf(a.model) - models.indexOf(b.model))

  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  console.log(
    `\nTraining speed, batch ${BATCH}, SGD, N = ${examples}, ${repeats} repeats (${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, ${minutes} min)`,
  )
  console.log(
    'Medians of the repeats and their range (min–max); × PyTorch: the median of the per-repeat ratios, each over the PyTorch epoch just before it.\n',
  )
  console.log(
    '| model | runtime | threads | examples/s | range | PyTorch examples/s | range | × PyTorch | range | ms/batch | peak MB |',
  )
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  const span = (r: [number, number] | null, digits = 1) =>
    r === null ? '–' : r.map((x) => x.toFixed(digits)).join('–')
  for (const r of results)
    console.log(
      `| ${r.model} | ${r.runtime} | ${r.threads} | ${r.examplesPerSecond.toFixed(1)} | ${span(r.examplesPerSecondRange)} | ${r.referenceExamplesPerSecond?.toFixed(1) ?? '–'} | ${span(r.referenceExamplesPerSecondRange)} | ${r.ratioToNative?.toFixed(2) ?? '–'} | ${span(r.ratioRange, 2)} | ${r.msPerBatch.toFixed(1)} | ${r.peakMemoryMB?.toFixed(1) ?? '–'} |`,
    )
  if (json) {
    await writeFile(json, JSON.stringify({ examples, repeats, results }, null, 2) + '\n')
    console.log(`\nJSON written to ${json}`)
  }
}

await main()
