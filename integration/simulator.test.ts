import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeIdx } from '../shared/data/formats/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'
import { FASHION_MNIST, FASHION_MNIST_DIR } from '../data/fashion-mnist.ts'

const FASHION = FASHION_MNIST_DIR
const FASHION_CLASSES = FASHION_MNIST.classes

/** Runs `npm run sim`'s entry point as a user would, collecting its output. */
function sim(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'client/simulator/main.ts', ...args])
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })
}

describe('npm run sim', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it('refuses bad arguments with a clear message', async () => {
    const bad = await sim(['--server', running.url, '--clients', '0'])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain('--clients must be a whole number from 1 to 1000')
    const partition = await sim(['--server', running.url, '--partition', 'weird'])
    expect(partition.output).toContain('--partition must be iid or noniid')
    const drop = await sim(['--server', running.url, '--drop', '1.5'])
    expect(drop.output).toContain('--drop must be a fraction between 0 and 1')
  })

  it('runs non-IID devices, some slow and some dropping, until the task completes', async () => {
    const task = await running.admin.createTask({
      name: 'simulated',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      rounds: { total: 3, clientsPerRound: 4, minReports: 2, overSelect: 1.5, deadlineSeconds: 4 },
    })
    const run = await sim([
      '--server',
      running.url,
      '--clients',
      '8',
      '--partition',
      'noniid',
      '--slow',
      '0.25',
      '--drop',
      '0.2',
    ])
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/8 devices, [\d.]+ s: \d+ accepted/)
    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(3)
    const rounds = await running.admin.rounds(task.id)
    expect(rounds.filter((r) => r.status === 'committed')).toHaveLength(3)
    for (const r of rounds) expect(r.selected).toBeLessThanOrEqual(6)
    // Every simulated device trains on wasm; once it trained a round it reports its speed, so
    // later rounds place their devices in speed tiers.
    for (const r of rounds) expect(r.participation.byBackend.wasm.devices).toBe(r.reported)
    const tiered = rounds
      .filter((r) => r.round > 1)
      .some((r) => r.participation.byTier.unknown.devices < r.reported)
    expect(tiered).toBe(true)
  })
})

describe('npm run sim on a declared dataset, from its files', () => {
  let running: Running
  let dir: string
  beforeAll(async () => {
    running = await startCoordinator()
    dir = await mkdtemp(join(tmpdir(), 'pollen-sim-'))
    const declared = await running.admin.call('/api/v1/datasets', {
      method: 'POST',
      body: JSON.stringify({
        name: 'fashion',
        description: 'Fashion-MNIST',
        features: { kind: 'image', height: 28, width: 28, channels: 1 },
        classes: FASHION_CLASSES,
      }),
    })
    expect(declared.status, await declared.clone().text()).toBe(201)
  })
  afterAll(async () => {
    await running.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses a dataset the coordinator does not know, and files that do not fit the spec', async () => {
    const images = `${FASHION}/t10k-images-idx3-ubyte.gz`
    const labels = `${FASHION}/t10k-labels-idx1-ubyte.gz`
    const unknown = await sim([
      '--server',
      running.url,
      '--dataset',
      'crops',
      '--from',
      images,
      labels,
    ])
    expect(unknown.code).toBe(1)
    expect(unknown.output).toContain('--dataset crops: the coordinator at')
    expect(unknown.output).toContain('has no such dataset')
    // Labels past the ten classes: the reader names the file, the field, the index and the value.
    const badLabels = join(dir, 'labels.idx')
    await writeFile(badLabels, encodeIdx(Uint8Array.from([1, 2, 12]), [3]))
    const badImages = join(dir, 'images.idx')
    await writeFile(badImages, encodeIdx(new Uint8Array(3 * 784), [3, 28, 28]))
    const bad = await sim([
      '--server',
      running.url,
      '--dataset',
      'fashion',
      '--from',
      badImages,
      badLabels,
    ])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain(`${badLabels}, field label: label 12 at index 2`)
  })

  it("trains a task on the dataset with devices holding two classes each of the files' examples", async () => {
    // The first 400 of Fashion-MNIST's t10k, written back as IDX: 100 examples a device.
    const [images, labels] = ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((f) =>
      gunzipSync(readFileSync(`${FASHION}/${f}.gz`)),
    )
    const some = { images: join(dir, 'some-images.idx'), labels: join(dir, 'some-labels.idx') }
    await writeFile(some.images, encodeIdx(images!.subarray(16, 16 + 400 * 784), [400, 28, 28]))
    const labels400 = labels!.subarray(8, 8 + 400)
    await writeFile(some.labels, encodeIdx(labels400, [400]))
    const task = await running.admin.createTask({
      name: 'fashion-sim',
      purpose: 'Tell clothes apart; only weight updates leave the phone.',
      dataset: 'fashion',
      model: { preset: 'mnist-2nn' },
      train: { optimizer: 'sgd', learningRate: 0.05, batchSize: 10, localEpochs: 1 },
      rounds: { total: 2, clientsPerRound: 4, minReports: 3, overSelect: 1, deadlineSeconds: 60 },
    })
    const run = await sim([
      '--server',
      running.url,
      '--dataset',
      'fashion',
      '--from',
      some.images,
      some.labels,
      '--clients',
      '4',
      '--shards',
      'classes:2',
    ])
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain('fashion: 400 examples of [28, 28, 1], T-shirt/top ')
    expect(run.output).toContain('4 devices, classes:2')
    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(2)
    // The devices declared the dataset they hold, with its ten classes' counts.
    const view = (await (await running.admin.call('/api/v1/datasets/fashion')).json()) as {
      devices: { active: number }
      examples: number
      labels: number[]
    }
    expect(view.devices.active).toBe(4)
    expect(view.examples).toBe(400)
    const histogram = new Array<number>(10).fill(0)
    for (const l of labels400) histogram[l]!++
    expect(view.labels).toEqual(histogram)
  }, 300_000)
})
