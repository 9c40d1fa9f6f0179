// Issue 16's acceptance over HTTP: a dataset declared for Fashion-MNIST, its held-out set the real
// t10k IDX files uploaded as a data scientist would, a task on it (mnist-2nn), and 20 simulated
// devices training on shards of the real train split: held-out accuracy rises, named per class.
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localTrainer, createDevice } from '../client/device/index.ts'
import { shardIid, subset } from '../shared/data/index.ts'
import { readIdx } from '../shared/data/formats/index.ts'
import type { DatasetSpec, DatasetView } from '../shared/protocol/index.ts'
import { FASHION_MNIST, FASHION_MNIST_DIR as DIR } from '../data/fashion-mnist.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

const FASHION: DatasetSpec = { ...FASHION_MNIST, name: 'fashion' }
const DEVICES = 20
const PER_DEVICE = 300

describe('Fashion-MNIST as a dataset of its own', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it('20 devices train mnist-2nn on it; held-out accuracy rises, named per class', async () => {
    const created = await running.admin.call('/api/v1/datasets', {
      method: 'POST',
      body: JSON.stringify(FASHION),
    })
    expect(created.status).toBe(201)

    // The held-out set: the t10k files as Debian ships them, gzipped, over multipart.
    const form = new FormData()
    for (const file of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
      form.append('file', new Blob([await readFile(`${DIR}/${file}`)]), file)
    const put = await running.admin.call('/api/v1/datasets/fashion/held-out', {
      method: 'PUT',
      body: form,
    })
    expect(put.status).toBe(200)
    const view = (await put.json()) as DatasetView
    expect(view.heldOut).toMatchObject({ examples: 10_000, labels: new Array(10).fill(1000) })

    const task = await running.admin.createTask({
      name: 'clothes',
      purpose: 'Tell clothes apart; only weight updates leave the phones.',
      model: { preset: 'mnist-2nn' },
      dataset: 'fashion',
      seed: 16,
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
      rounds: {
        total: 4,
        clientsPerRound: 10,
        minReports: 10,
        overSelect: 1,
        deadlineSeconds: 300,
      },
    })
    expect(task).toMatchObject({ classes: FASHION.classes, heldOut: { examples: 10_000 } })

    // The devices' examples: shards of the real train split, read by the same IDX reader.
    const train = readIdx(
      [
        { name: 'train-images', bytes: await readFile(`${DIR}/train-images-idx3-ubyte.gz`) },
        { name: 'train-labels', bytes: await readFile(`${DIR}/train-labels-idx1-ubyte.gz`) },
      ],
      FASHION,
      { maxExpandedBytes: 64 * 1024 * 1024, maxExamples: 60_000 },
    )
    if (!train.ok) throw new Error(JSON.stringify(train.problems))
    const some = subset(
      train.examples,
      Array.from({ length: DEVICES * PER_DEVICE }, (_, i) => i),
    )
    const trainer = localTrainer()
    await Promise.all(
      shardIid(some, DEVICES, 1).map((examples, i) =>
        createDevice({
          server: running.url,
          trainer,
          examples,
          dataset: 'fashion',
          backend: 'wasm',
          label: `fashion-${i}`,
        }).run(),
      ),
    )

    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(4)
    const rounds = await running.admin.rounds(task.id)
    const accuracy = rounds.map((r) => r.accuracy!)
    expect(accuracy.every((a) => typeof a === 'number')).toBe(true)
    expect(accuracy.at(-1)!).toBeGreaterThan(accuracy[0]!)
    expect(accuracy.at(-1)!).toBeGreaterThanOrEqual(0.65)
    const last = rounds.at(-1)!
    expect(Object.keys(last.accuracyByClass!)).toEqual(FASHION.classes)
    expect(last.accuracyByClass!.Trouser).toBeCloseTo(last.accuracyByLabel![1]!, 10)
    // Trousers are the easy class, shirts the hard one: the per-class numbers say so.
    expect(last.accuracyByClass!.Trouser!).toBeGreaterThan(last.accuracyByClass!.Shirt!)

    // What devices hold, counted and never sent: 20 devices, 6,000 examples, 10 classes.
    const listed = (await (
      await running.admin.call('/api/v1/datasets/fashion')
    ).json()) as DatasetView
    expect(listed).toMatchObject({
      devices: { active: DEVICES, enrolled: DEVICES },
      examples: 6000,
      tasks: 1,
    })
    expect(listed.labels.reduce((a, b) => a + b)).toBe(6000)
    // 10 devices a round train one after another on this process's one trainer: on a loaded
    // machine a round takes minutes.
  }, 600_000)
})
