// On-device training speed: the preset models trained with Pollen's training core, beside the
// same models trained natively by PyTorch on the CPU with the same thread count.
//
//   npm run bench:train [-- --json FILE] [-- --examples N] [-- --repeats R]
//                       [-- --models synet,mnist-cnn,mnist-2nn] [-- --cpu] [-- --swiftshader]
//
// Runtimes: Node on TF.js's wasm backend; the phone app's training worker in Chromium (the real
// coordinator serves the built app, cross-origin isolated) on wasm with 1 and 2 threads, on cpu
// with --cpu, and on webgpu where Chromium finds a hardware adapter (--swiftshader measures
// SwiftShader's too: slow, correctness only, on a tenth of the inputs); and the native reference
// (bench/torch_reference.py, Debian's python3-torch, with 1 and 2 threads, run before and after
// ours: the faster figure is the reference). Each model trains on N random 28x28 inputs (4N for
// mnist-2nn, as the reference does; N/5 on Chromium's cpu backend, which is that slow) at batch 64
// with SGD, after one warm-up epoch; examples/s = inputs / the median of R timed epochs (3 by
// default; PyTorch's too). Peak memory is the peak RSS (Linux VmHWM) while the timed epochs ran:
// Node's own, or the largest Chromium renderer's (the page's, whose worker trains).
// ratioToNative = examples/s over the reference's at the same thread count.
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Page, chromium as playwright } from 'playwright-core'
import type * as TrainingModule from '../client/app/training/index.ts'
import { CHROMIUM_ARGS, chromiumPath, freePort } from '../e2e/environment.ts'
import { startChild } from '../integration/harness.ts'
import type { Digits } from '../shared/data/index.ts'
import { buildModel, getWeights, type PresetName } from '../shared/models/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { trainLocally } from '../shared/training/index.ts'
import { highWaterMark, peakMemory } from './memory.ts'

const MODELS: readonly PresetName[] = ['synet', 'mnist-cnn', 'mnist-2nn']
const BATCH = 64
const MB = 1024 * 1024
const REFERENCE = fileURLToPath(new URL('torch_reference.py', import.meta.url))
const PYTHON = '/usr/bin/python3'
const launchChromium = playwright.launch.bind(playwright)
type Training = typeof TrainingModule

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
      repeats: { type: 'string', default: '3' },
      models: { type: 'string', default: MODELS.join(',') },
      swiftshader: { type: 'boolean', default: false },
      cpu: { type: 'boolean', default: false },
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
  const repeats = Number(values.repeats)
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`--repeats must be a whole number of at least 1, got ${values.repeats}`)
  const { json, swiftshader, cpu } = values
  return { json, examples, repeats, models, swiftshader, cpu }
}

/** Random digits: a training step costs the same whatever the pixels say. */
function randomDigits(count: number, seed: number): Digits {
  let state = seed
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0)
  const pixels = Uint8Array.from({ length: count * 784 }, () => next() >>> 24)
  const labels = Uint8Array.from({ length: count }, () => next() % 10)
  return { count, rows: 28, cols: 28, pixels, labels }
}

/** The median of a few timed epochs: this machine's speed wanders from one second to the next. */
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

/** One model on TF.js wasm in this process: a warm-up epoch, then `repeats` timed ones. */
async function nodeWasm(
  model: PresetName,
  examples: number,
  repeats: number,
): Promise<Omit<TrainResult, 'ratioToNative'>> {
  const count = model === 'mnist-2nn' ? examples * 4 : examples
  const digits = randomDigits(count, 7)
  const built = buildModel({ preset: model })
  const weights = getWeights(built)
  const plan = { optimizer: 'sgd' as const, learningRate: 0.01, batchSize: BATCH, localEpochs: 1 }
  try {
    await trainLocally({ model: built, weights, examples: digits, plan, seed: 1 }) // warm-up
    highWaterMark.reset()
    const epochs: number[] = []
    let steps = 0
    for (let r = 0; r < repeats; r++) {
      const start = performance.now()
      const result = await trainLocally({ model: built, weights, examples: digits, plan, seed: 2 })
      epochs.push((performance.now() - start) / 1000)
      steps = result.steps
    }
    const seconds = median(epochs)
    const peak = highWaterMark.read()
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm')
    return {
      model,
      runtime: 'node-wasm',
      threads: getThreadsCount(),
      examplesPerSecond: round1(count / seconds),
      msPerBatch: round1((seconds * 1000) / steps),
      peakMemoryMB: peak === null ? null : round1(peak / MB),
    }
  } finally {
    built.dispose()
  }
}

/** PyTorch on the CPU, as bench/torch_reference.py measures it; null where it cannot run. */
function native(models: readonly PresetName[], threads: number, examples: number, repeats: number) {
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
      '--repeats',
      String(repeats),
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

/** The phone app's training worker in Chromium, per backend; runtimes it cannot start are left out. */
async function chromium(
  models: readonly PresetName[],
  examples: number,
  { swiftshader, cpu, repeats }: { swiftshader: boolean; cpu: boolean; repeats: number },
): Promise<Omit<TrainResult, 'ratioToNative'>[]> {
  const coordinator = await startCoordinator()
  const browser = await launchChromium({
    executablePath: chromiumPath(),
    args: [
      ...CHROMIUM_ARGS,
      '--enable-unsafe-webgpu',
      ...(swiftshader ? ['--use-webgpu-adapter=swiftshader'] : []),
    ],
  })
  const results: Omit<TrainResult, 'ratioToNative'>[] = []
  const cdp = await browser.newBrowserCDPSession()
  /** The renderer processes: the page's, which runs the training worker, among them. */
  const renderers = async () =>
    (await cdp.send('SystemInfo.getProcessInfo')).processInfo
      .filter((p) => p.type === 'renderer')
      .map((p) => p.id)
  // Software backends train a fraction of the examples: the same per-example figure, sooner.
  const slowdown = { wasm: 1, webgpu: swiftshader ? 10 : 1, cpu: 5 }
  async function runtime(
    prefer: 'wasm' | 'webgpu' | 'cpu',
    threads: number,
  ): Promise<Omit<TrainResult, 'ratioToNative'>[]> {
    const measured: Omit<TrainResult, 'ratioToNative'>[] = []
    const context = await browser.newContext()
    try {
      // tsx (esbuild, keepNames) wraps the functions below in __name(); the page has none.
      await context.addInitScript('globalThis.__name = (f) => f')
      const page = await context.newPage()
      await page.goto(`${coordinator.url}/`)
      if (prefer === 'webgpu') {
        const adapter = await webgpuAdapter(page)
        if (adapter === null || (adapter.software && !swiftshader)) {
          console.error(
            `chromium-webgpu: not measured (${adapter === null ? 'no WebGPU adapter' : `only a software adapter, ${adapter.name}: pass --swiftshader to measure it, slowly`})`,
          )
          return []
        }
      }
      const started = await page.evaluate(
        async ({ src, prefer, threads }) => {
          const { createWorkerTrainer } = (await import(src)) as Training
          const trainer = createWorkerTrainer()
          ;(globalThis as Record<string, unknown>).benchTrainer = trainer
          return trainer.init({ prefer, threads })
        },
        { src: trainingEntry(), prefer, threads },
      )
      if (started.backend !== prefer) {
        const why = started.skipped.find((s) => s.backend === prefer)?.reason ?? 'not chosen'
        console.error(`chromium-${prefer}: not measured (${why})`)
        return []
      }
      for (const model of models) {
        const count = Math.max(
          BATCH,
          Math.round((model === 'mnist-2nn' ? examples * 4 : examples) / slowdown[prefer]),
        )
        const built = buildModel({ preset: model })
        const weights = getWeights(built).map((t) => ({
          ...t,
          data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
        }))
        built.dispose()
        // Set up and warm up, then time a second epoch with the renderer's peak memory reset.
        await page.evaluate(
          async ({ model, weights, count, batch }) => {
            const g = globalThis as Record<string, unknown>
            const trainer = g.benchTrainer as ReturnType<Training['createWorkerTrainer']>
            let state = 7
            const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0)
            const examples = {
              count,
              pixels: Uint8Array.from({ length: count * 784 }, () => next() >>> 24),
              labels: Uint8Array.from({ length: count }, () => next() % 10),
            }
            const job = {
              spec: { preset: model },
              plan: {
                optimizer: 'sgd' as const,
                learningRate: 0.01,
                batchSize: batch,
                localEpochs: 1,
              },
              weights: weights.map((t) => ({
                name: t.name,
                shape: t.shape,
                dtype: 'float32' as const,
                data: new Float32Array(
                  Uint8Array.from(atob(t.data), (c) => c.charCodeAt(0)).buffer,
                ),
              })),
              examples,
            }
            g.benchJob = job
            await trainer.train(job)
          },
          { model, weights, count, batch: BATCH },
        )
        const peaks = (await renderers()).map((pid) => peakMemory(pid))
        for (const peak of peaks) peak.reset()
        const runs = await page.evaluate(async (repeats) => {
          const g = globalThis as Record<string, unknown>
          const trainer = g.benchTrainer as ReturnType<Training['createWorkerTrainer']>
          const timed: { seconds: number; steps: number }[] = []
          for (let r = 0; r < repeats; r++) {
            const start = performance.now()
            const result = await trainer.train(g.benchJob as Parameters<typeof trainer.train>[0])
            timed.push({ seconds: (performance.now() - start) / 1000, steps: result.steps })
          }
          return timed
        }, repeats)
        const run = { seconds: median(runs.map((r) => r.seconds)), steps: runs[0]!.steps }
        const peak = Math.max(0, ...peaks.map((p) => p.read() ?? 0))
        measured.push({
          model,
          runtime: `chromium-${prefer}`,
          threads: started.threads,
          examplesPerSecond: round1(count / run.seconds),
          msPerBatch: round1((run.seconds * 1000) / run.steps),
          peakMemoryMB: peak > 0 ? round1(peak / MB) : null,
        })
        console.error(
          `chromium-${prefer} (${started.threads} thread(s)) ${model}: ${measured.at(-1)!.examplesPerSecond} examples/s`,
        )
      }
      return measured
    } finally {
      await context.close()
    }
  }

  try {
    const runtimes = [
      { prefer: 'wasm', threads: 1 },
      { prefer: 'wasm', threads: 2 },
      { prefer: 'webgpu', threads: 1 },
      // TF.js's plain-JS backend takes minutes a CNN epoch: only when asked.
      ...(cpu ? [{ prefer: 'cpu', threads: 1 } as const] : []),
    ] as const
    for (const { prefer, threads } of runtimes) {
      try {
        results.push(...(await runtime(prefer, threads)))
      } catch (error) {
        // One runtime failing (WebGPU drivers do) leaves the others measured, and says why.
        console.error(`chromium-${prefer}: failed, not measured (${String(error).split('\n')[0]})`)
      }
    }
  } finally {
    await browser.close()
    await coordinator.stop()
  }
  return results
}

/** The page's WebGPU adapter, and whether it is a software one (SwiftShader), or null. */
async function webgpuAdapter(page: Page): Promise<{ name: string; software: boolean } | null> {
  return page.evaluate(async () => {
    type Adapter = {
      isFallbackAdapter?: boolean
      info?: { vendor: string; architecture: string; description: string }
    }
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu
    const adapter = await gpu?.requestAdapter()
    if (!adapter) return null
    const info = adapter.info ?? { vendor: '', architecture: '', description: '' }
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ')
    return {
      name: name || 'unnamed',
      software: adapter.isFallbackAdapter === true || /swiftshader/i.test(name),
    }
  })
}

/** The built page side of the training worker: assets/training-<hash>.js. */
function trainingEntry(): string {
  const file = readdirSync(join('dist', 'client', 'assets')).find((f) =>
    /^training-[\w-]+\.js$/.test(f),
  )
  if (!file) throw new Error('no assets/training-*.js in dist/client: run `npm run build:client`')
  return `/assets/${file}`
}

/** A real coordinator (no demo task) serving the built app, in a child process. */
async function startCoordinator(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'pollen-bench-train-'))
  const output: string[] = []
  const child = startChild(port, dataDir, output)
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    child.kill('SIGTERM')
    await once(child, 'exit')
    await rm(dataDir, { recursive: true, force: true })
  }
  for (const deadline = Date.now() + 60_000; ;) {
    if (child.exitCode !== null)
      throw new Error(`the coordinator exited with ${child.exitCode}:\n${output.join('')}`)
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, stop }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`the coordinator did not answer /healthz within 60 s:\n${output.join('')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round2 = (x: number) => Math.round(x * 100) / 100

async function main() {
  const { json, examples, repeats, models, swiftshader, cpu } = options()
  await useBackend('wasm')
  const threads = [...new Set([1, Math.min(2, cpus().length)])]
  const reference = () => threads.flatMap((t) => native(models, t, examples, repeats) ?? [])
  // PyTorch runs before and after ours, and the faster of its two figures is the reference: the
  // machine's speed drifts over minutes, and this way the drift cannot flatter our ratios.
  const before = reference()
  const measured: Omit<TrainResult, 'ratioToNative'>[] = []
  for (const model of models) {
    measured.push(await nodeWasm(model, examples, repeats))
    console.error(`node-wasm ${model}: ${measured.at(-1)!.examplesPerSecond} examples/s`)
  }
  measured.push(...(await chromium(models, examples, { swiftshader, cpu, repeats })))
  for (const late of reference()) {
    const early = before.find((r) => r.model === late.model && r.threads === late.threads)
    measured.push(early && early.examplesPerSecond > late.examplesPerSecond ? early : late)
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
