// The training worker in a phone's Chromium, against the real coordinator (the page and the worker
// are same-origin and cross-origin isolated): the backend it picks, synet trained on real digits on
// wasm, tensors that do not leak across jobs, WebGPU on SwiftShader, and the fallback without
// workers. The page imports the worker's page side (the `training` entry of the build) directly.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { type APIRequestContext, expect, type Page, test } from '@playwright/test'
import { decodeMnist, type Examples, subset } from '../shared/data/index.ts'
import { buildModel, getWeights, toLayersTopology } from '../shared/models/index.ts'
import type { ModelSpecWire } from '../shared/protocol/index.ts'
import type { NamedTensor } from '../shared/tensors/index.ts'
import { tfl, useBackend } from '../shared/tf/index.ts'
import { CHROMIUM_ARGS, chromiumLaunch } from './environment.ts'

type Training = typeof import('../client/app/training/index.ts')

/** The built page side of the worker: assets/training-<hash>.js. */
function trainingEntry(): string {
  const file = readdirSync(join('dist', 'client', 'assets')).find((f) =>
    /^training-[\w-]+\.js$/.test(f),
  )
  if (!file) throw new Error('no assets/training-*.js in dist/client: run `npm run build:client`')
  return `/assets/${file}`
}

/** `count` real digits from the coordinator's demo file, decoded here with shared/data. */
async function digits(request: APIRequestContext, count: number): Promise<Examples> {
  const response = await request.get('/data/mnist.bin')
  expect(response.ok()).toBe(true)
  const { train } = decodeMnist(new Uint8Array(await response.body()))
  return subset(
    train,
    Array.from({ length: count }, (_, i) => i),
  )
}

/** A custom model of `layers` on inputs of `inputShape`, as a task would declare it. */
function custom(inputShape: number[], layers: (input: number[]) => tfl.layers.Layer[]) {
  const model = tfl.sequential({ layers: layers(inputShape) })
  const spec: ModelSpecWire = { preset: 'custom', topology: toLayersTopology(model) }
  model.dispose()
  return spec
}

/** A model's freshly initialised weights, as the coordinator would send them. */
async function initialWeights(spec: ModelSpecWire): Promise<NamedTensor[]> {
  await useBackend('cpu')
  const model = buildModel(spec)
  const weights = getWeights(model)
  model.dispose()
  return weights
}

interface Wire {
  weights: { name: string; shape: number[]; data: string }[]
  /** `float`: the features are float32 values (tabular), else bytes. */
  examples: { count: number; shape: number[]; float: boolean; features: string; labels: string }
}

const base64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

function wire(weights: NamedTensor[], examples: Examples): Wire {
  return {
    weights: weights.map((t) => ({
      name: t.name,
      shape: t.shape,
      data: base64(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
    })),
    examples: {
      count: examples.count,
      shape: examples.shape,
      float: examples.features instanceof Float32Array,
      features: base64(
        new Uint8Array(
          examples.features.buffer,
          examples.features.byteOffset,
          examples.features.byteLength,
        ),
      ),
      labels: base64(examples.labels),
    },
  }
}

/**
 * Opens the app, imports the training entry, starts a worker trainer and keeps it, with the
 * job's weights and examples, on `globalThis.pollenTest` for the next evaluate calls.
 */
async function startTrainer(page: Page, data: Wire): Promise<void> {
  await page.goto('/')
  await page.evaluate(
    async ({ src, data }) => {
      const bytes = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
      const { createWorkerTrainer } = (await import(src)) as Training
      const progress: { step: number; totalSteps: number; loss: number }[] = []
      ;(globalThis as Record<string, unknown>).pollenTest = {
        trainer: createWorkerTrainer({ onProgress: (p) => progress.push(p), seed: () => 7 }),
        progress,
        weights: data.weights.map((t) => ({
          name: t.name,
          shape: t.shape,
          dtype: 'float32' as const,
          data: new Float32Array(bytes(t.data).buffer),
        })),
        examples: {
          count: data.examples.count,
          shape: data.examples.shape,
          features: data.examples.float
            ? new Float32Array(bytes(data.examples.features).buffer)
            : bytes(data.examples.features),
          labels: bytes(data.examples.labels),
        },
      }
    },
    { src: trainingEntry(), data },
  )
}

interface Outcome {
  names: string[]
  shapes: number[][]
  finite: boolean
  nonZero: boolean
  transferred: boolean
  examples: number
  steps: number
  loss: number
  ms: number
  numTensors: number
  progress: { step: number; totalSteps: number; loss: number }[]
  inputsIntact: boolean
}

/** One training job in the worker with the kept weights and examples. */
function train(
  page: Page,
  spec: ModelSpecWire,
  plan: {
    optimizer: 'sgd' | 'adadelta' | 'adam'
    learningRate: number
    batchSize: number
    localEpochs: number
    maxSteps?: number
  },
): Promise<Outcome> {
  return page.evaluate(
    async ({ spec, plan }) => {
      type Kept = {
        trainer: ReturnType<Training['createWorkerTrainer']>
        progress: Outcome['progress']
        weights: NamedTensor[]
        examples: Examples
      }
      const kept = (globalThis as Record<string, unknown>).pollenTest as Kept
      kept.progress.length = 0
      const result = await kept.trainer.train({
        spec,
        plan,
        weights: kept.weights,
        examples: kept.examples,
      })
      return {
        names: result.delta.map((t) => t.name),
        shapes: result.delta.map((t) => t.shape),
        finite: result.delta.every((t) => t.data.every(Number.isFinite)),
        nonZero: result.delta.some((t) => t.data.some((v) => v !== 0)),
        transferred: result.delta.every(
          (t) => t.data instanceof Float32Array && t.data.byteLength === t.data.buffer.byteLength,
        ),
        examples: result.examples,
        steps: result.steps,
        loss: result.loss,
        ms: result.ms,
        numTensors: await kept.trainer.memory(),
        progress: [...kept.progress],
        // The trainer sent copies: the page's weights and examples are still there.
        inputsIntact:
          kept.weights.every((t) => t.data.byteLength > 0) && kept.examples.features.byteLength > 0,
      }
    },
    { spec, plan },
  )
}

test.describe('the training worker', () => {
  // synet on wasm runs at ~210 examples/s on this machine: a job of a few batches takes a second.
  test.setTimeout(120_000)

  test('picks wasm (SIMD; threads when isolated), trains synet on real digits, leaks no tensors', async ({
    page,
    request,
  }) => {
    const spec: ModelSpecWire = { preset: 'synet' }
    const weights = await initialWeights(spec)
    await startTrainer(page, wire(weights, await digits(request, 192)))

    const info = await page.evaluate(() => {
      const kept = (globalThis as Record<string, unknown>).pollenTest as {
        trainer: ReturnType<Training['createWorkerTrainer']>
      }
      return kept.trainer.init({ prefer: 'wasm' })
    })
    console.log(
      `worker backend: ${info.backend}, SIMD ${info.simd ? 'on' : 'off'}, ${info.threads} thread(s), ` +
        `crossOriginIsolated ${info.crossOriginIsolated}`,
    )
    expect(info.backend).toBe('wasm')
    expect(info.simd).toBe(true)
    expect(info.crossOriginIsolated).toBe(true)
    expect(info.threads).toBeGreaterThanOrEqual(1)

    // Adadelta as in the Duet notebook; 192 digits in batches of 64: three steps a job.
    const plan = { optimizer: 'adadelta' as const, learningRate: 1, batchSize: 64, localEpochs: 1 }
    const runs: Outcome[] = []
    for (let i = 0; i < 3; i++) runs.push(await train(page, spec, plan))

    for (const run of runs) {
      expect(run.names).toEqual(weights.map((t) => t.name))
      expect(run.shapes).toEqual(weights.map((t) => t.shape))
      expect(run.finite).toBe(true)
      expect(run.nonZero).toBe(true)
      expect(run.transferred).toBe(true)
      expect(run.inputsIntact).toBe(true)
      expect(run).toMatchObject({ examples: 192, steps: 3 })
      expect(Number.isFinite(run.loss)).toBe(true)
      expect(run.progress.map((p) => p.step)).toEqual([1, 2, 3])
      expect(run.progress.every((p) => p.totalSteps === 3 && Number.isFinite(p.loss))).toBe(true)
    }
    // Untrained synet on ten classes: a loss near ln 10. And nothing is left behind.
    for (const run of runs) expect(run.loss).toBeLessThan(4)
    expect(runs.map((r) => r.numTensors)).toEqual(runs.map(() => runs[0]!.numTensors))

    const perSecond = runs.slice(1).map((r) => (r.examples / r.ms) * 1000)
    console.log(
      `synet in the worker on wasm (batch 64, 3 batches): ` +
        `${perSecond.map((v) => v.toFixed(1)).join(', ')} examples/s ` +
        `(first job, with warm-up: ${((runs[0]!.examples / runs[0]!.ms) * 1000).toFixed(1)})`,
    )
  })

  test('20 rounds in one worker leave the tensor count where the first left it', async ({
    page,
    request,
  }) => {
    const spec: ModelSpecWire = { preset: 'synet' }
    await startTrainer(page, wire(await initialWeights(spec), await digits(request, 64)))
    // Adam keeps two slot variables a weight: a round that failed to drop them would show here.
    const plan = { optimizer: 'adam' as const, learningRate: 0.001, batchSize: 32, localEpochs: 1 }
    const counts: number[] = []
    for (let round = 0; round < 20; round++) {
      const run = await train(page, spec, plan)
      expect(run).toMatchObject({ steps: 2, finite: true })
      counts.push(run.numTensors)
    }
    console.log(`tensors in the worker after each of 20 rounds: ${counts.join(' ')}`)
    expect(counts).toEqual(counts.map(() => counts[0]))
  })

  test('wasm threads: asked for two, the worker runs two (TF.js alone caps them at cores / 2)', async ({
    page,
    request,
  }) => {
    const spec: ModelSpecWire = { preset: 'synet' }
    await startTrainer(page, wire(await initialWeights(spec), await digits(request, 192)))
    const info = await page.evaluate(() => {
      const kept = (globalThis as Record<string, unknown>).pollenTest as {
        trainer: ReturnType<Training['createWorkerTrainer']>
      }
      return kept.trainer.init({ prefer: 'wasm', threads: 2 })
    })
    expect(info).toMatchObject({ backend: 'wasm', threads: 2, crossOriginIsolated: true })
    const plan = { optimizer: 'adadelta' as const, learningRate: 1, batchSize: 64, localEpochs: 1 }
    await train(page, spec, plan)
    const run = await train(page, spec, plan)
    expect(run.finite).toBe(true)
    console.log(
      `synet in the worker on wasm with 2 threads: ${((run.examples / run.ms) * 1000).toFixed(1)} examples/s`,
    )
  })

  test('examples of any shape: RGB bytes and float32 rows train in the worker; a shape the model does not take is refused, naming both', async ({
    page,
  }) => {
    await useBackend('cpu')
    const plan = { optimizer: 'sgd' as const, learningRate: 0.1, batchSize: 4, localEpochs: 1 }
    const rgbSpec = custom([8, 8, 3], (inputShape) => [
      tfl.layers.conv2d({ inputShape, filters: 2, kernelSize: 3, activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ])
    const rgb: Examples = {
      count: 12,
      shape: [8, 8, 3],
      features: Uint8Array.from({ length: 12 * 192 }, (_, i) => (i * 31) % 256),
      labels: Uint8Array.from({ length: 12 }, (_, i) => i % 3),
    }
    await startTrainer(page, wire(await initialWeights(rgbSpec), rgb))
    const photos = await train(page, rgbSpec, plan)
    expect(photos).toMatchObject({ examples: 12, steps: 3, finite: true, nonZero: true })

    const tableSpec = custom([5], (inputShape) => [
      tfl.layers.dense({ inputShape, units: 4, activation: 'softmax' }),
    ])
    const rows: Examples = {
      count: 8,
      shape: [5],
      features: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i) * 3),
      labels: Uint8Array.from({ length: 8 }, (_, i) => i % 4),
    }
    await startTrainer(page, wire(await initialWeights(tableSpec), rows))
    const table = await train(page, tableSpec, plan)
    expect(table).toMatchObject({ examples: 8, steps: 2, finite: true, nonZero: true })

    // The stored rows on a task whose model takes digits: refused before any step.
    await expect(train(page, { preset: 'mnist-2nn' }, plan)).rejects.toThrow(
      /examples of shape \[5\] \(5 values\) do not fit model '.*', whose input is \[784\]/,
    )
    await expect(train(page, rgbSpec, plan)).rejects.toThrow(
      /examples of shape \[5\] \(5 values\) do not fit model '.*', whose input is \[8, 8, 3\] \(192 values\)/,
    )
  })

  test('without Web Workers the trainer says so instead of training', async ({ page }) => {
    await page.goto('/')
    const error = await page.evaluate(async (src) => {
      const { createWorkerTrainer } = (await import(src)) as Training
      Reflect.deleteProperty(globalThis, 'Worker')
      const trainer = createWorkerTrainer()
      return trainer.init().then(
        () => null,
        (e: Error & { code?: string }) => ({ name: e.name, code: e.code, message: e.message }),
      )
    }, trainingEntry())
    expect(error).toEqual({
      name: 'WorkerUnavailableError',
      code: 'worker-unavailable',
      message: 'the training worker cannot start: this browser has no Web Workers',
    })
  })

  test('WebGPU on SwiftShader: mnist-2nn trains one short round, backend webgpu', async ({
    playwright,
    baseURL,
    request,
  }) => {
    const browser = await playwright.chromium.launch(
      chromiumLaunch([
        ...CHROMIUM_ARGS,
        '--enable-unsafe-webgpu',
        '--use-webgpu-adapter=swiftshader',
      ]),
    )
    try {
      const context = await browser.newContext({ baseURL: baseURL! })
      const page = await context.newPage()
      const spec: ModelSpecWire = { preset: 'mnist-2nn' }
      const weights = await initialWeights(spec)
      await startTrainer(page, wire(weights, await digits(request, 64)))
      const adapter = await page.evaluate(async () => {
        const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu
        return gpu ? (await gpu.requestAdapter()) !== null : false
      })
      test.skip(!adapter, 'navigator.gpu.requestAdapter() found no adapter in this Chromium')

      const info = await page.evaluate(() => {
        const kept = (globalThis as Record<string, unknown>).pollenTest as {
          trainer: ReturnType<Training['createWorkerTrainer']>
        }
        return kept.trainer.init()
      })
      expect(info.backend).toBe('webgpu')
      const run = await train(page, spec, {
        optimizer: 'sgd',
        learningRate: 0.1,
        batchSize: 32,
        localEpochs: 1,
      })
      expect(run.names).toEqual(weights.map((t) => t.name))
      expect(run.shapes).toEqual(weights.map((t) => t.shape))
      expect(run.finite).toBe(true)
      expect(run.nonZero).toBe(true)
      expect(run).toMatchObject({ examples: 64, steps: 2 })
      console.log(
        `mnist-2nn on webgpu (SwiftShader): ${((64 / run.ms) * 1000).toFixed(0)} examples/s`,
      )
    } finally {
      await browser.close()
    }
  })
})
