// Acceptance (issue 16): a custom model with frozen layers. Real devices train only the layers
// that train and upload only their weights; the coordinator refuses an update that carries a
// frozen weight, and every committed model keeps the frozen weights bit for bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevice, localTrainer } from '../client/device/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { type Examples, subset } from '../shared/data/index.ts'
import { toLayersTopology } from '../shared/models/index.ts'
import type { Assignment } from '../shared/protocol/index.ts'
import { decodeContainer, type NamedTensor } from '../shared/tensors/index.ts'
import { tfl } from '../shared/tf/index.ts'
import { type Running, startCoordinator, waitFor } from './harness.ts'
import { rawDevice } from './raw-device.ts'

/** A fixed feature extractor (784 → 64, frozen) under a trained 10-way head. */
function frozenFeatures(): Record<string, unknown> {
  const model = tfl.sequential({
    name: 'frozen-features',
    layers: [
      tfl.layers.dense({
        name: 'features',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        trainable: false,
      }),
      tfl.layers.dense({ name: 'head', units: 10, activation: 'softmax' }),
    ],
  })
  try {
    return toLayersTopology(model)
  } finally {
    model.dispose()
  }
}

const FROZEN = ['features/kernel', 'features/bias']
const TRAINED = ['head/kernel', 'head/bias']
const ALL = 784 * 64 + 64 + 64 * 10 + 10
const TRAINABLE = 64 * 10 + 10

/** Bit-for-bit equality of two float32 tensors. */
const sameBits = (a: NamedTensor, b: NamedTensor) =>
  a.data.length === b.data.length &&
  new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length).every(
    (v, i) => v === new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length)[i],
  )

describe('a custom model with frozen layers over HTTP', () => {
  let running: Running
  let train: Examples
  beforeAll(async () => {
    running = await startCoordinator()
    train = (await loadMnist()).train
  })
  afterAll(() => running.close())

  const weights = async (hash: string) => {
    const response = await running.admin.call(`/api/v1/models/${hash}`)
    return decodeContainer(new Uint8Array(await response.arrayBuffer())).tensors
  }

  /** Devices that train for real, each on its 200 digits, recording every upload's tensors. */
  function devices(n: number, uploads: NamedTensor[][] | null) {
    const capture: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      if (uploads && url.endsWith('/updates') && init?.body instanceof Uint8Array)
        uploads.push(decodeContainer(init.body).tensors)
      return fetch(input, init)
    }
    return Array.from({ length: n }, (_, i) =>
      createDevice({
        server: running.url,
        trainer: localTrainer(),
        examples: subset(
          train,
          Array.from({ length: 200 }, (_, k) => i * 200 + k),
        ),
        backend: 'wasm',
        label: `frozen ${i}`,
        fetch: capture,
      }),
    )
  }

  async function runRound(taskId: string, ds: ReturnType<typeof devices>, n: number) {
    const assignments = await Promise.all(ds.map((d) => d.checkin()))
    for (const a of assignments) expect(a.type).toBe('assignment')
    await Promise.all(ds.map((d, i) => d.work(assignments[i] as Assignment)))
    await waitFor(
      async () => ((await running.admin.task(taskId)).committedRounds >= n ? true : undefined),
      60_000,
      `round ${n} committed`,
    )
  }

  it('uploads only the trainable weights and commits the frozen ones bit for bit', async () => {
    const task = await running.admin.createTask({
      name: 'frozen features',
      purpose: 'Train a head on a fixed feature extractor; only the head leaves the phone.',
      model: { preset: 'custom', topology: frozenFeatures() },
      train: { optimizer: 'sgd', learningRate: 0.5, batchSize: 20, localEpochs: 2 },
      rounds: { total: 2, clientsPerRound: 3, minReports: 3, overSelect: 1, deadlineSeconds: 120 },
    })
    // The task view says what an update carries and what freezing saves.
    expect(task.model).toMatchObject({
      parameters: ALL,
      trainableParameters: TRAINABLE,
      updateBytes: TRAINABLE * 4,
    })

    const uploads: NamedTensor[][] = []
    const ds = devices(3, uploads)
    for (const d of ds) await d.enrol()
    await runRound(task.id, ds, 1)
    await runRound(task.id, ds, 2)

    expect(uploads).toHaveLength(6)
    for (const tensors of uploads) expect(tensors.map((t) => t.name)).toEqual(TRAINED)

    const rounds = await running.admin.rounds(task.id)
    expect(rounds.map((r) => [r.status, r.reported])).toEqual([
      ['committed', 3],
      ['committed', 3],
    ])
    const first = await weights(task.model.hash)
    for (const round of rounds) {
      const committed = await weights(round.model!)
      expect(committed.map((t) => t.name)).toEqual(first.map((t) => t.name))
      for (const [i, t] of committed.entries()) {
        const frozen = FROZEN.includes(t.name)
        expect(sameBits(t, first[i]!), `${t.name} in round ${round.round}`).toBe(frozen)
      }
    }
    // The head learnt something on top of random features.
    expect(rounds[1]!.accuracy!).toBeGreaterThan(0.3)
  }, 120_000)

  it.each([
    ['the median of three (sync)', { aggregation: { rule: 'median' as const } }],
    ['FedBuff (async)', { mode: 'async' as const, async: { bufferSize: 3, concurrency: 3 } }],
  ])(
    'aggregates only the trainable weights with %s',
    async (_, settings) => {
      const task = await running.admin.createTask({
        name: 'frozen features, other rules',
        purpose: 'Train a head on a fixed feature extractor; only the head leaves the phone.',
        model: { preset: 'custom', topology: frozenFeatures() },
        train: { optimizer: 'sgd', learningRate: 0.5, batchSize: 20, localEpochs: 1 },
        rounds: {
          total: 1,
          clientsPerRound: 3,
          minReports: 3,
          overSelect: 1,
          deadlineSeconds: 120,
        },
        ...settings,
      })
      const uploads: NamedTensor[][] = []
      const ds = devices(3, uploads)
      for (const d of ds) await d.enrol()
      await runRound(task.id, ds, 1)
      for (const tensors of uploads) expect(tensors.map((t) => t.name)).toEqual(TRAINED)
      const [round] = await running.admin.rounds(task.id)
      expect(round).toMatchObject({ status: 'committed', reported: 3 })
      const [first, committed] = [await weights(task.model.hash), await weights(round!.model!)]
      for (const [i, t] of committed.entries())
        expect(sameBits(t, first[i]!), t.name).toBe(FROZEN.includes(t.name))
    },
    120_000,
  )

  it('sums only the trainable weights under secure aggregation and DP clipping', async () => {
    const task = await running.admin.createTask({
      name: 'frozen features, secure',
      purpose: 'Train a head on a fixed feature extractor; only the head leaves the phone.',
      model: { preset: 'custom', topology: frozenFeatures() },
      train: { optimizer: 'sgd', learningRate: 0.5, batchSize: 20, localEpochs: 1 },
      secureAggregation: true,
      privacy: { clipNorm: 1, noiseMultiplier: 0.01, epsilonBudget: 1e6, population: 1000 },
      rounds: { total: 1, clientsPerRound: 3, minReports: 3, overSelect: 1, deadlineSeconds: 120 },
    })
    // A masked upload is no tensor container: nothing to read in it.
    const ds = devices(3, null)
    for (const d of ds) await d.enrol()
    await runRound(task.id, ds, 1)
    const [round] = await running.admin.rounds(task.id)
    expect(round).toMatchObject({ status: 'committed', reported: 3 })
    const [first, committed] = [await weights(task.model.hash), await weights(round!.model!)]
    for (const [i, t] of committed.entries())
      expect(sameBits(t, first[i]!), t.name).toBe(FROZEN.includes(t.name))
  }, 120_000)

  it('refuses an update that carries the frozen weights too, naming the field', async () => {
    const task = await running.admin.createTask({
      name: 'frozen features, refused',
      purpose: 'Train a head on a fixed feature extractor; only the head leaves the phone.',
      model: { preset: 'custom', topology: frozenFeatures() },
      rounds: { total: 1, clientsPerRound: 4, minReports: 1, overSelect: 1, deadlineSeconds: 8 },
    })
    // Four devices in the round (a refused update ends its device's part), closed at the deadline.
    const raw = await Promise.all([0, 1, 2, 3].map(() => rawDevice(running.url)))
    const assignments = (await Promise.all(raw.map((d) => d.checkin()))) as Assignment[]
    for (const a of assignments) expect(a.type).toBe('assignment')
    const zeros = (await weights(task.model.hash)).map((t) => ({
      ...t,
      data: new Float32Array(t.data.length),
    }))
    const head = zeros.filter((t) => TRAINED.includes(t.name))
    const bias = zeros.find((t) => t.name === 'features/bias')!
    const upload = (i: number, tensors: NamedTensor[]) =>
      raw[i]!.upload(assignments[i]!, tensors, { examples: 600, steps: 19 })

    // The whole model is more than an update of this task may be: refused before it is read.
    expect((await upload(0, zeros)).status).toBe(413)
    // A frozen weight beside the trainable ones, or in place of one: refused, naming the field.
    const extra = await upload(1, [...head, bias])
    expect(extra.status).toBe(422)
    expect(extra.answer).toMatchObject({ message: 'expected 2 tensors, got 3', field: 'tensors' })
    const swapped = await upload(2, [bias, head[1]!])
    expect(swapped.status).toBe(422)
    expect(swapped.answer).toMatchObject({
      message: 'expected head/kernel, got features/bias',
      field: 'tensors[0].name',
    })
    // The update it should be is taken and committed: the refusals changed nothing.
    const good = await upload(3, head)
    expect(good.answer).toMatchObject({ type: 'accepted' })
    expect(good.status).toBe(200)
    const [round] = await waitFor(async () => {
      const rounds = await running.admin.rounds(task.id)
      return rounds[0]?.status === 'committed' ? rounds : undefined
    })
    expect(round).toMatchObject({ reported: 1, rejected: 3 }) // the 413 too
    // Only the zero update counted: the committed model is the first, bit for bit.
    const [first, committed] = [await weights(task.model.hash), await weights(round!.model!)]
    expect(committed.map((t) => t.name)).toEqual(first.map((t) => t.name))
    for (const [i, t] of committed.entries()) expect(sameBits(t, first[i]!), t.name).toBe(true)
  }, 60_000)
})
