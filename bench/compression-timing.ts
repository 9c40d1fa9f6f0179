// bench:compression's timings, per codec and update size (mnist-2nn's, synet's):
// - node: what the coordinator does with one update: admission (header, codec, metadata, shapes,
//   the payload read and checked: server/rounds/admission.ts's checkUpdate) and adding it to the
//   round's mean (createDeltaMean; a compressed update block by block), in this process; and the
//   encode in Node beside it.
// - chromium: the encode in a Web Worker in headless Chromium, the phone's runtime: the worker
//   is bench/compression-worker.ts bundled by Vite, the page a blank one of a made-up origin.
import { fileURLToPath } from 'node:url'
import { chromium as playwright } from 'playwright-core'
import { build, type Rollup } from 'vite'
import { createDeltaMean } from '../shared/aggregation/index.ts'
import { buildModel, getWeights } from '../shared/models/index.ts'
import { type Codec, encodeContainer } from '../shared/tensors/index.ts'
import { checkUpdate } from '../server/rounds/admission.ts'
import { CHROMIUM_ARGS, chromiumLaunch } from '../e2e/environment.ts'
import type { BenchModel } from './compression-options.ts'
import type { EncodeJob, EncodeTimes } from './compression-worker.ts'
import { randomDeltas } from './deltas.ts'
import { median, range } from './stats.ts'

/** The update sizes timed: the smallest model and the CNN the issue quotes (4.8 MB float32). */
export const TIMED_MODELS: readonly BenchModel[] = ['mnist-2nn', 'synet']

export interface Timing {
  model: BenchModel
  codec: Codec
  bytes: number
  /** Median milliseconds per update, and the fastest and slowest of the repeats. */
  nodeEncodeMs: number
  nodeEncodeRange: [number, number]
  nodeDecodeAggregateMs: number
  nodeDecodeAggregateRange: [number, number]
  /** Null where Chromium was not run or could not start. */
  chromiumEncodeMs: number | null
  chromiumEncodeRange: [number, number] | null
}

type Layout = { name: string; shape: number[] }[]

export function layoutOf(model: BenchModel): Layout {
  const built = buildModel({ preset: model })
  const layout = getWeights(built).map(({ name, shape }) => ({ name, shape: [...shape] }))
  built.dispose()
  return layout
}

const BASE = 'a'.repeat(64)
const WORK = { examples: 100, steps: 10 }

/** Node's medians: encode, and admission + mean per update, over `repeats` distinct updates. */
export function nodeTimes(layout: Layout, codec: Codec, repeats: number) {
  const encodeMs: number[] = []
  const decodeMs: number[] = []
  const mean = createDeltaMean('examples', layout)
  const claim = { declared: WORK.examples, steps: WORK.steps, batchSize: 10 }
  let bytes = 0
  for (let r = 0; r <= repeats; r++) {
    const tensors = randomDeltas(layout, r + 1)
    let start = performance.now()
    const body = encodeContainer({
      tensors,
      metadata: { ...WORK, baseModel: BASE },
      codec,
      seed: r + 1,
    })
    const encoded = performance.now() - start
    start = performance.now()
    const checked = checkUpdate(body, { baseModel: BASE, spec: layout, claim, codecs: [codec] })
    if ('field' in checked)
      throw new Error(`${codec}: refused at ${checked.field}: ${checked.message}`)
    mean.add(checked.tensors, WORK)
    const decoded = performance.now() - start
    bytes = body.length
    if (r === 0) continue // warm-up
    encodeMs.push(encoded)
    decodeMs.push(decoded)
  }
  return {
    bytes,
    encodeMs: median(encodeMs),
    encodeRange: range(encodeMs),
    decodeAggregateMs: median(decodeMs),
    decodeAggregateRange: range(decodeMs),
  }
}

/** The worker's code, bundled (shared/ and all) into one ES module. */
async function workerBundle(): Promise<string> {
  const entry = fileURLToPath(new URL('./compression-worker.ts', import.meta.url))
  const built = (await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: { entry, formats: ['es'], fileName: 'worker' },
    },
  })) as Rollup.RollupOutput | Rollup.RollupOutput[]
  const output = (Array.isArray(built) ? built[0]! : built).output
  return output[0].code
}

/** Per model, the worker's encode times in Chromium; null where Chromium could not be driven. */
export async function chromiumTimes(
  jobs: { model: BenchModel; job: EncodeJob }[],
  log: (line: string) => void,
): Promise<Map<BenchModel, EncodeTimes> | null> {
  let browser
  try {
    browser = await playwright.launch(chromiumLaunch(CHROMIUM_ARGS))
  } catch (error) {
    log(`chromium: not measured (${String(error).split('\n')[0]})`)
    return null
  }
  try {
    const code = await workerBundle()
    const page = await browser.newPage()
    const origin = 'http://compression.bench.invalid/'
    await page.route(`${origin}**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' }),
    )
    await page.goto(origin)
    const out = new Map<BenchModel, EncodeTimes>()
    for (const { model, job } of jobs)
      out.set(
        model,
        await page.evaluate(
          ({ code, job }) =>
            new Promise<EncodeTimes>((resolve, reject) => {
              const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }))
              const worker = new Worker(url, { type: 'module' })
              worker.onmessage = (e: MessageEvent<EncodeTimes>) => {
                worker.terminate()
                resolve(e.data)
              }
              worker.onerror = (e) => reject(new Error(e.message))
              worker.postMessage(job)
            }),
          { code, job },
        ),
      )
    return out
  } finally {
    await browser.close()
  }
}

/** Every codec on every timed model size: Node's side, then Chromium's (where asked). */
export async function runTimings(
  {
    codecs,
    repeats,
    chromium,
  }: {
    codecs: Codec[]
    repeats: number
    chromium: boolean
  },
  log: (line: string) => void,
): Promise<Timing[]> {
  const layouts = TIMED_MODELS.map((model) => ({ model, layout: layoutOf(model) }))
  const browser = chromium
    ? await chromiumTimes(
        layouts.map(({ model, layout }) => ({ model, job: { layout, codecs, repeats } })),
        log,
      )
    : null
  const timings: Timing[] = []
  for (const { model, layout } of layouts)
    for (const codec of codecs) {
      const node = nodeTimes(layout, codec, repeats)
      const inWorker = browser?.get(model)?.[codec]
      timings.push({
        model,
        codec,
        bytes: node.bytes,
        nodeEncodeMs: node.encodeMs,
        nodeEncodeRange: node.encodeRange,
        nodeDecodeAggregateMs: node.decodeAggregateMs,
        nodeDecodeAggregateRange: node.decodeAggregateRange,
        chromiumEncodeMs: inWorker ? median(inWorker.ms) : null,
        chromiumEncodeRange: inWorker ? range(inWorker.ms) : null,
      })
      log(
        `${model} ${codec}: ${node.bytes} bytes, encode ${node.encodeMs.toFixed(1)} ms (node)` +
          (inWorker ? ` ${median(inWorker.ms).toFixed(1)} ms (chromium worker)` : '') +
          `, decode + aggregate ${node.decodeAggregateMs.toFixed(1)} ms`,
      )
    }
  return timings
}
