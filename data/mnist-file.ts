// Node-only helpers for the MNIST file: build it from the `mnist` package, and load it.
// The coordinator, the simulator, benchmarks and tests import these (outside scripts/, which holds
// only command-line entry points); shared/ never does, as it imports nothing from node:.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  decodeMnist,
  type Digits,
  encodeMnist,
  concatExamples,
  type Examples,
  MNIST_SHAPE,
  MnistFormatError,
  mulberry32,
  permutation,
  PIXELS_PER_EXAMPLE,
  subset,
} from '../shared/data/index.ts'

/** `public/data/mnist.bin` in this repository, wherever the process was started. */
export const MNIST_PATH = fileURLToPath(new URL('../public/data/mnist.bin', import.meta.url))

/** Share of each label that goes to the training split (the rest is the held-out test split). */
export const TRAIN_FRACTION = 0.8
export const SPLIT_SEED = 1

/** The ten `{ data: number[] }` files of the `mnist` package, one per label. */
export function mnistSourceFiles(): string[] {
  const require = createRequire(import.meta.url)
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits')
  return Array.from({ length: 10 }, (_, label) => join(dir, `${label}.json`))
}

/**
 * Reads the 10,000 digits of the `mnist` package and splits them: for each label the first 80%
 * train, the rest test; then each split is shuffled with a fixed seed.
 */
export async function readMnistSource(): Promise<{ train: Digits; test: Digits }> {
  const perLabel: Examples[] = []
  for (const [label, file] of mnistSourceFiles().entries()) {
    const { data } = JSON.parse(await readFile(file, 'utf8')) as { data: number[] }
    if (data.length % PIXELS_PER_EXAMPLE !== 0) {
      throw new Error(`${file}: ${data.length} values is not a whole number of 28x28 digits`)
    }
    const count = data.length / PIXELS_PER_EXAMPLE
    const features = new Uint8Array(data.length)
    for (let i = 0; i < data.length; i++) features[i] = Math.round(data[i]! * 255)
    perLabel.push({
      count,
      shape: [...MNIST_SHAPE],
      features,
      labels: new Uint8Array(count).fill(label),
    })
  }
  const split = (pick: (count: number) => [number, number]): Digits => {
    const parts = perLabel.map((d) => subset(d, range(...pick(d.count))))
    const joined = concat(parts)
    return subset(joined, permutation(joined.count, mulberry32(SPLIT_SEED)))
  }
  const cut = (count: number) => Math.round(count * TRAIN_FRACTION)
  return {
    train: split((count) => [0, cut(count)]),
    test: split((count) => [cut(count), count]),
  }
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i)

/** The digits of `parts` in one: byte features, as every part has. */
const concat = (parts: Examples[]): Digits => concatExamples(parts) as Digits

export interface BuildResult {
  path: string
  built: boolean
  train: number
  test: number
  bytes: number
}

/**
 * Writes the MNIST file (tmp then rename, so readers never see half a file). Skips the work when
 * the file exists, decodes, and is newer than the source files and this script, unless `force`.
 */
export async function buildMnist({ out = MNIST_PATH, force = false } = {}): Promise<BuildResult> {
  const existing = force ? null : await stat(out).catch(() => null)
  if (existing) {
    const inputs = [...mnistSourceFiles(), fileURLToPath(import.meta.url)]
    const times = await Promise.all(inputs.map(async (f) => (await stat(f)).mtimeMs))
    if (times.every((t) => t <= existing.mtimeMs)) {
      try {
        const { train, test } = decodeMnist(await readFile(out))
        return {
          path: out,
          built: false,
          train: train.count,
          test: test.count,
          bytes: existing.size,
        }
      } catch (e) {
        if (!(e instanceof MnistFormatError)) throw e
        // An old or damaged file: build it again.
      }
    }
  }
  const { train, test } = await readMnistSource()
  const bytes = encodeMnist({ train, test })
  await mkdir(dirname(out), { recursive: true })
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp`
  await writeFile(tmp, bytes)
  await rename(tmp, out)
  return { path: out, built: true, train: train.count, test: test.count, bytes: bytes.length }
}

/**
 * Reads and decodes the MNIST file. The default file is built first when it is missing, so tests
 * and the simulator work on a fresh checkout; another path must exist.
 */
export async function loadMnist(path = MNIST_PATH): Promise<{ train: Digits; test: Digits }> {
  if (path === MNIST_PATH) await buildMnist()
  return decodeMnist(await readFile(path))
}
