// What the training tests share: MNIST digits and an mnist-2nn model once the backend is up,
// the plan they train with, and exact comparisons of tensor lists.
import { loadMnist } from '../../data/mnist-file.ts'
import { type Digits, subset } from '../data/index.ts'
import { buildSeededModel, getWeights } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { useBackend } from '../tf/index.ts'
import type { TrainPlan } from './index.ts'

export const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => from + i)

// McMahan et al.'s B = 10; two epochs over 1,000 digits take ~0.5 s on wasm.
export const plan: TrainPlan = {
  optimizer: 'sgd',
  learningRate: 0.1,
  batchSize: 10,
  localEpochs: 2,
}

/**
 * An mnist-2nn model built on first use, once the backend is up; a file's tests share it. Its
 * initial weights are seeded, so a test's figures are the same in every run (an Adam resume's
 * drift from the uninterrupted run, a few ulps amplified, depends on where training starts).
 */
export function lazyModel() {
  const box: { model?: ReturnType<typeof buildSeededModel> } = {}
  return () => (box.model ??= buildSeededModel({ preset: 'mnist-2nn' }, INIT_SEED))
}

const INIT_SEED = 1

/** 1,000 training and 500 held-out MNIST digits on wasm, and `model`'s initial weights. */
export async function mnistDigits(
  model: () => ReturnType<typeof buildSeededModel>,
): Promise<{ train: Digits; test: Digits; initial: NamedTensor[] }> {
  await useBackend('wasm')
  const mnist = await loadMnist()
  return {
    train: subset(mnist.train, range(0, 1000)),
    test: subset(mnist.test, range(0, 500)),
    initial: getWeights(model()),
  }
}

/** Bit-for-bit equality of two tensor lists (fast, unlike toEqual on large typed arrays). */
export const identical = (a: NamedTensor[], b: NamedTensor[]): boolean =>
  a.length === b.length &&
  a.every((t, i) => {
    const u = b[i]!
    if (t.name !== u.name || t.data.length !== u.data.length) return false
    const x = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)
    const y = new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length)
    return x.every((v, j) => v === y[j])
  })

export const maxDifference = (a: NamedTensor[], b: NamedTensor[]): number =>
  Math.max(
    ...a.map((t, i) => t.data.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]!.data[j]!)), 0)),
  )
