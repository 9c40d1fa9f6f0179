// The runtimes bench:train measures, each behind one interface: open a model (set up and warmed
// up), then train one timed epoch whenever asked, so that bench/train.ts can put a PyTorch epoch
// before each of them.
//
// node-wasm: TF.js's wasm backend in this process (one thread: Node has no WASM threads).
// chromium-<backend>: the phone app's training worker in Chromium (a real coordinator serves the
// built app, cross-origin isolated) on wasm with 1 and 2 threads, on webgpu where Chromium finds
// a hardware adapter (SwiftShader's only with --swiftshader, on a tenth of the inputs), and on
// TF.js's cpu backend with --cpu (on a fifth).
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Page, chromium as playwright } from 'playwright-core'
import type * as TrainingModule from '../client/app/training/index.ts'
import { CHROMIUM_ARGS, chromiumLaunch, freePort } from '../e2e/environment.ts'
import { startChild } from '../integration/harness.ts'
import type { Digits } from '../shared/data/index.ts'
import { buildModel, getWeights, type MnistPresetName } from '../shared/models/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { trainLocally } from '../shared/training/index.ts'
import { highWaterMark, peakMemory } from './memory.ts'

export const BATCH = 64
const launchChromium = playwright.launch.bind(playwright)
type Training = typeof TrainingModule

/** One model on one runtime, set up and past its warm-up epoch. */
export interface Session {
  /** The random inputs each epoch trains on. */
  examples: number
  /** Trains one timed epoch. */
  epoch(): Promise<{ seconds: number; steps: number }>
  /** Peak RSS in bytes since the warm-up (the process that trains), or null where unknown. */
  peak(): number | null
  close(): void
}

export interface Runtime {
  name: string
  threads: number
  open(model: MnistPresetName): Promise<Session>
}

export interface RuntimeOptions {
  examples: number
  swiftshader: boolean
  cpu: boolean
}

/** The inputs of one epoch: N, or 4N for mnist-2nn (as the reference trains). */
export const inputsFor = (model: MnistPresetName, examples: number) =>
  model === 'mnist-2nn' ? examples * 4 : examples

/** Each runtime in turn, set up when its turn comes and closed when the next is asked for. */
export async function* runtimes(options: RuntimeOptions): AsyncGenerator<Runtime> {
  yield await nodeWasm(options.examples)
  yield* chromiumRuntimes(options)
}

/** Random digits: a training step costs the same whatever the features say. */
function randomDigits(count: number, seed: number): Digits {
  let state = seed
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0)
  const features = Uint8Array.from({ length: count * 784 }, () => next() >>> 24)
  const labels = Uint8Array.from({ length: count }, () => next() % 10)
  return { count, shape: [28, 28, 1], features, labels }
}

async function nodeWasm(examples: number): Promise<Runtime> {
  await useBackend('wasm')
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm')
  return {
    name: 'node-wasm',
    threads: getThreadsCount(),
    async open(model) {
      const count = inputsFor(model, examples)
      const digits = randomDigits(count, 7)
      const built = buildModel({ preset: model })
      const weights = getWeights(built)
      const plan = {
        optimizer: 'sgd' as const,
        learningRate: 0.01,
        batchSize: BATCH,
        localEpochs: 1,
      }
      const train = () => trainLocally({ model: built, weights, examples: digits, plan, seed: 2 })
      await train() // warm-up
      highWaterMark.reset()
      return {
        examples: count,
        async epoch() {
          const start = performance.now()
          const { steps } = await train()
          return { seconds: (performance.now() - start) / 1000, steps }
        },
        peak: () => highWaterMark.read(),
        close: () => built.dispose(),
      }
    },
  }
}

/** The phone app's training worker in Chromium, per backend; those it cannot start are left out. */
async function* chromiumRuntimes({
  examples,
  swiftshader,
  cpu,
}: RuntimeOptions): AsyncGenerator<Runtime> {
  const coordinator = await startCoordinator()
  const browser = await launchChromium(
    chromiumLaunch([
      ...CHROMIUM_ARGS,
      '--enable-unsafe-webgpu',
      ...(swiftshader ? ['--use-webgpu-adapter=swiftshader'] : []),
    ]),
  )
  try {
    const cdp = await browser.newBrowserCDPSession()
    /** The renderer processes: the page's, which runs the training worker, among them. */
    const renderers = async () =>
      (await cdp.send('SystemInfo.getProcessInfo')).processInfo
        .filter((p) => p.type === 'renderer')
        .map((p) => p.id)
    // Software backends train a fraction of the examples: the same per-example figure, sooner.
    const slowdown = { wasm: 1, webgpu: swiftshader ? 10 : 1, cpu: 5 }
    const backends = [
      { prefer: 'wasm', threads: 1 },
      { prefer: 'wasm', threads: 2 },
      { prefer: 'webgpu', threads: 1 },
      // TF.js's plain-JS backend takes minutes a CNN epoch: only when asked.
      ...(cpu ? [{ prefer: 'cpu', threads: 1 } as const] : []),
    ] as const
    for (const { prefer, threads } of backends) {
      const context = await browser.newContext()
      try {
        const page = await start(context, prefer, threads)
        if (page === null) continue
        yield {
          name: `chromium-${prefer}`,
          threads: page.threads,
          async open(model) {
            const count = Math.max(BATCH, Math.round(inputsFor(model, examples) / slowdown[prefer]))
            await setUp(page.page, model, count) // and warm up
            const peaks = (await renderers()).map((pid) => peakMemory(pid))
            for (const peak of peaks) peak.reset()
            return {
              examples: count,
              epoch: () => timedEpoch(page.page),
              peak: () => Math.max(0, ...peaks.map((p) => p.read() ?? 0)) || null,
              close: () => {},
            }
          },
        }
      } catch (error) {
        // One runtime failing to start (WebGPU drivers do) leaves the others measured.
        console.error(`chromium-${prefer}: failed, not measured (${String(error).split('\n')[0]})`)
      } finally {
        await context.close()
      }
    }
  } finally {
    await browser.close()
    await coordinator.stop()
  }

  /** A page whose training worker runs on `prefer`, or null (said why) where it cannot. */
  async function start(
    context: Awaited<ReturnType<typeof browser.newContext>>,
    prefer: 'wasm' | 'webgpu' | 'cpu',
    threads: number,
  ): Promise<{ page: Page; threads: number } | null> {
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
        return null
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
      return null
    }
    return { page, threads: started.threads }
  }
}

/** Hands the worker a model, its weights and `count` random inputs, and trains a warm-up epoch. */
async function setUp(page: Page, model: MnistPresetName, count: number): Promise<void> {
  const built = buildModel({ preset: model })
  const weights = getWeights(built).map((t) => ({
    ...t,
    data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
  }))
  built.dispose()
  await page.evaluate(
    async ({ model, weights, count, batch }) => {
      const g = globalThis as Record<string, unknown>
      const trainer = g.benchTrainer as ReturnType<Training['createWorkerTrainer']>
      let state = 7
      const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0)
      const examples = {
        count,
        shape: [28, 28, 1],
        features: Uint8Array.from({ length: count * 784 }, () => next() >>> 24),
        labels: Uint8Array.from({ length: count }, () => next() % 10),
      }
      const job = {
        spec: { preset: model },
        plan: { optimizer: 'sgd' as const, learningRate: 0.01, batchSize: batch, localEpochs: 1 },
        weights: weights.map((t) => ({
          name: t.name,
          shape: t.shape,
          dtype: 'float32' as const,
          data: new Float32Array(Uint8Array.from(atob(t.data), (c) => c.charCodeAt(0)).buffer),
        })),
        examples,
      }
      g.benchJob = job
      await trainer.train(job)
    },
    { model, weights, count, batch: BATCH },
  )
}

/** One epoch of the job set up, timed in the page. */
function timedEpoch(page: Page): Promise<{ seconds: number; steps: number }> {
  return page.evaluate(async () => {
    const g = globalThis as Record<string, unknown>
    const trainer = g.benchTrainer as ReturnType<Training['createWorkerTrainer']>
    const start = performance.now()
    const result = await trainer.train(g.benchJob as Parameters<typeof trainer.train>[0])
    return { seconds: (performance.now() - start) / 1000, steps: result.steps }
  })
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
