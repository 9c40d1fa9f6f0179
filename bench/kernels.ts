// Which kernels a training step spends its time in, on TF.js's wasm backend with TF.js's own
// kernels and with Pollen's replacements (shared/kernels), one step after the other.
//
//   npm run bench:kernels [-- --json FILE] [-- --steps N] [-- --models synet,mnist-cnn,mnist-2nn]
//
// Each model trains N steps (default 8) of batch 64 with SGD, in this process, under tf.profile,
// once per kernel set (after a warm-up epoch with that set). A kernel's time is TF.js's own
// measure (the wasm backend times each kernel call synchronously), summed by kernel and input
// shapes, divided by N. Conv2DBackpropFilter is Pollen's in both columns: TF.js 4.22 has none.
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import type { Digits } from '../shared/data/index.ts'
import { WASM_OVERRIDES } from '../shared/kernels/index.ts'
import {
  buildModel,
  getWeights,
  MNIST_PRESETS,
  type MnistPresetName,
} from '../shared/models/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { trainLocally } from '../shared/training/index.ts'

const BATCH = 64

interface KernelRow {
  model: MnistPresetName
  kernel: string
  inputShapes: string
  tfjsMsPerStep: number
  pollenMsPerStep: number
}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      steps: { type: 'string', default: '8' },
      models: { type: 'string', default: MNIST_PRESETS.join(',') },
    },
  })
  const steps = Number(values.steps)
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`--steps must be a whole number of at least 1, got ${values.steps}`)
  const models = values.models.split(',').map((m) => {
    const found = MNIST_PRESETS.find((known) => known === m)
    if (!found)
      throw new Error(`--models: unknown model '${m}' (one of ${MNIST_PRESETS.join(', ')})`)
    return found
  })
  return { json: values.json, steps, models }
}

function digits(count: number): Digits {
  const features = Uint8Array.from({ length: count * 784 }, (_, i) => (i * 7919) % 256)
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10)
  return { count, shape: [28, 28, 1], features, labels }
}

/** Milliseconds per step by "kernel [input shapes]", and the whole step's. */
async function profileSteps(model: MnistPresetName, steps: number) {
  const built = buildModel({ preset: model })
  const weights = getWeights(built)
  const examples = digits(steps * BATCH)
  const plan = { optimizer: 'sgd' as const, learningRate: 0.01, batchSize: BATCH, localEpochs: 1 }
  try {
    await trainLocally({ model: built, weights, examples, plan, seed: 1 }) // warm-up
    const start = performance.now()
    const info = await tf.profile(async () => {
      await trainLocally({ model: built, weights, examples, plan, seed: 2 })
    })
    const stepMs = (performance.now() - start) / steps
    const byKernel = new Map<string, number>()
    for (const k of info.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`
      byKernel.set(key, (byKernel.get(key) ?? 0) + Number(k.kernelTimeMs) / steps)
    }
    return { stepMs, byKernel }
  } finally {
    built.dispose()
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10

async function main() {
  const { json, steps, models } = options()
  // TF.js's own kernels, as its package registered them, then Pollen's over them.
  await import('@tensorflow/tfjs-backend-wasm')
  const names = Object.keys(WASM_OVERRIDES)
  const tfjs = names.map((name) => tf.getKernel(name, 'wasm'))
  await useBackend('wasm')
  const pollen = names.map((name) => tf.getKernel(name, 'wasm'))
  const use = (set: tf.KernelConfig[]) => {
    for (const kernel of set) {
      tf.unregisterKernel(kernel.kernelName, 'wasm')
      tf.registerKernel(kernel)
    }
  }

  const rows: KernelRow[] = []
  const perStep: { model: MnistPresetName; tfjsMsPerStep: number; pollenMsPerStep: number }[] = []
  for (const model of models) {
    use(tfjs)
    const before = await profileSteps(model, steps)
    use(pollen)
    const after = await profileSteps(model, steps)
    perStep.push({
      model,
      tfjsMsPerStep: round1(before.stepMs),
      pollenMsPerStep: round1(after.stepMs),
    })
    const keys = [...new Set([...before.byKernel.keys(), ...after.byKernel.keys()])]
    const modelRows = keys.map((key) => {
      const [kernel, inputShapes] = [
        key.slice(0, key.indexOf(' ')),
        key.slice(key.indexOf(' ') + 1),
      ]
      return {
        model,
        kernel: kernel,
        inputShapes: inputShapes,
        tfjsMsPerStep: round1(before.byKernel.get(key) ?? 0),
        pollenMsPerStep: round1(after.byKernel.get(key) ?? 0),
      }
    })
    // The kernels that matter: those above 2% of either step.
    const floor = 0.02 * Math.min(before.stepMs, after.stepMs)
    rows.push(
      ...modelRows
        .filter((r) => Math.max(r.tfjsMsPerStep, r.pollenMsPerStep) >= floor)
        .sort((a, b) => b.tfjsMsPerStep - a.tfjsMsPerStep),
    )
    console.error(`${model}: ${round1(before.stepMs)} → ${round1(after.stepMs)} ms a step`)
  }

  console.log(`\nKernel time a training step, batch ${BATCH}, TF.js wasm kernels → Pollen's\n`)
  console.log('| model | kernel | input shapes | TF.js ms | Pollen ms | × faster |')
  console.log('| --- | --- | --- | ---: | ---: | ---: |')
  for (const r of rows) {
    const faster = r.pollenMsPerStep > 0 ? round1(r.tfjsMsPerStep / r.pollenMsPerStep) : '–'
    console.log(
      `| ${r.model} | ${r.kernel} | ${r.inputShapes} | ${r.tfjsMsPerStep} | ${r.pollenMsPerStep} | ${faster} |`,
    )
  }
  for (const s of perStep) {
    console.log(
      `| ${s.model} | **whole step** |  | ${s.tfjsMsPerStep} | ${s.pollenMsPerStep} | ${round1(s.tfjsMsPerStep / s.pollenMsPerStep)} |`,
    )
  }
  if (json) {
    await writeFile(json, JSON.stringify({ steps: perStep, kernels: rows }, null, 2) + '\n')
    console.log(`\nJSON written to ${json}`)
  }
}

await main()
