import { beforeAll, describe, expect, it } from 'vitest'
import { type Digits, subset } from '../data/index.ts'
import { buildModel, getWeights, toLayersTopology, weightSpec } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { tf, tfl } from '../tf/index.ts'
import {
  evaluate,
  missingTrainingKernels,
  OPTIMIZERS,
  type TrainCheckpoint,
  type TrainOptions,
  type TrainPlan,
  trainLocally,
  type TrainProgress,
} from './index.ts'
import { identical, lazyModel, maxDifference, mnistDigits, plan, range } from './testing.ts'

let train: Digits
let test: Digits
const model = lazyModel()
let initial: NamedTensor[]

beforeAll(async () => ({ train, test, initial } = await mnistDigits(model)))

const applyDelta = (weights: NamedTensor[], delta: NamedTensor[]): NamedTensor[] =>
  weights.map((w, i) => ({ ...w, data: w.data.map((v, j) => v + delta[i]!.data[j]!) }))

/** A virtual clock that reaches `stopAt` during step `n`: a deadline coming mid-run, at once. */
function deadlineDuring(n: number) {
  let clock = 0
  return {
    stopAt: 1,
    now: () => clock,
    onProgress: ({ step }: TrainProgress) => void (step === n && (clock = 1)),
  }
}

/** The checkpoints a run made before a reload stopped it after the one at step `at`. */
async function reloadedAt(
  at: number,
  run: Pick<TrainOptions, 'plan' | 'seed' | 'checkpointEvery'>,
): Promise<TrainCheckpoint[]> {
  const checkpoints: TrainCheckpoint[] = []
  const controller = new AbortController()
  await expect(
    trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      ...run,
      signal: controller.signal,
      onCheckpoint: (c) => {
        checkpoints.push(c)
        if (c.step === at) controller.abort(new Error('the page reloaded'))
      },
    }),
  ).rejects.toThrow('the page reloaded')
  return checkpoints
}

/** The plan's first `n` steps, run whole. */
const firstSteps = (n: number, seed: number) =>
  trainLocally({
    model: model(),
    weights: initial,
    examples: train,
    plan: { ...plan, maxSteps: n },
    seed,
  })

describe('trainLocally', () => {
  it('improves accuracy on held-out digits, and reports its work', async () => {
    const before = await evaluate({ model: model(), weights: initial, examples: test })
    const progress: TrainProgress[] = []
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan,
      seed: 1,
      onProgress: (p) => progress.push(p),
    })
    expect(r.examples).toBe(1000)
    expect(r.steps).toBe(2 * 100)
    expect(progress.map((p) => p.step)).toEqual(range(1, 201))
    expect(progress.every((p) => p.totalSteps === 200 && Number.isFinite(p.loss))).toBe(true)
    expect(r.loss).toBeLessThan(progress[0]!.loss)
    expect(r.delta.map(({ name, shape }) => ({ name, shape }))).toEqual(weightSpec(model()))
    expect(r.delta.every((t) => t.dtype === 'float32' && t.data.some((v) => v !== 0))).toBe(true)

    const after = await evaluate({
      model: model(),
      weights: applyDelta(initial, r.delta),
      examples: test,
    })
    expect(before.accuracy).toBeLessThan(0.3)
    expect(after.accuracy).toBeGreaterThan(0.7) // ~0.83 typically
    expect(after.loss).toBeLessThan(before.loss)
  })

  it('is deterministic given the seed', async () => {
    const run = (seed: number) =>
      trainLocally({
        model: model(),
        weights: initial,
        examples: train,
        plan: { ...plan, maxSteps: 30 },
        seed,
      })
    const [a, b, c] = [await run(7), await run(7), await run(8)]
    expect(identical(a.delta, b.delta)).toBe(true)
    expect(a.loss).toBe(b.loss)
    expect(identical(c.delta, a.delta)).toBe(false)
  })

  it('honours maxSteps, counting distinct examples', async () => {
    const steps: number[] = []
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan: { ...plan, maxSteps: 5 },
      seed: 1,
      onProgress: (p) => steps.push(p.totalSteps),
    })
    expect([r.steps, r.examples]).toEqual([5, 50])
    expect(steps).toEqual([5, 5, 5, 5, 5])
    // Past one epoch, examples is the local dataset size (n_k), not examples × epochs.
    const small = subset(train, range(0, 30))
    const r2 = await trainLocally({
      model: model(),
      weights: initial,
      examples: small,
      plan: { ...plan, batchSize: 8, localEpochs: 3, maxSteps: 6 },
    })
    expect([r2.steps, r2.examples]).toEqual([6, 30])
    const r0 = await trainLocally({
      model: model(),
      weights: initial,
      examples: small,
      plan: { ...plan, maxSteps: 0 },
    })
    expect([r0.steps, r0.examples, r0.loss]).toEqual([0, 0, NaN])
    expect(r0.delta.every((t) => t.data.every((v) => v === 0))).toBe(true)
  })

  // A reload mid-round resumes from the last checkpoint: the result must be the run that never
  // stopped, bit for bit, whatever state the optimizer carries, FedProx's pull included.
  it.each([
    ...OPTIMIZERS.map((o) => [o, 0] as const),
    ['momentum', 0.3] as const,
    ['adam', 0.3] as const,
  ])(
    'resumes from a checkpoint to the uninterrupted result with %s, μ = %s',
    async (o, proximalMu) => {
      const resumable: TrainPlan = {
        ...plan,
        optimizer: o,
        learningRate: 0.01,
        batchSize: 64,
        proximalMu,
      }
      // 16 steps an epoch, 2 epochs: checkpoints every 5 steps land mid-epoch and across epochs.
      const whole = await trainLocally({
        model: model(),
        weights: initial,
        examples: train,
        plan: resumable,
        seed: 11,
      })
      const before = tf.memory().numTensors
      const checkpoints = await reloadedAt(20, { plan: resumable, seed: 11, checkpointEvery: 5 })
      expect(checkpoints.map((c) => c.step)).toEqual([5, 10, 15, 20])
      expect(tf.memory().numTensors).toBe(before)
      const steps: number[] = []
      const resumed = await trainLocally({
        model: model(),
        weights: initial,
        examples: train,
        plan: resumable,
        resumeFrom: checkpoints[3]!,
        onProgress: (p) => steps.push(p.step),
      })
      expect(steps[0]).toBe(21)
      expect([resumed.steps, resumed.examples]).toEqual([whole.steps, whole.examples])
      if (o === 'adam') {
        // tf's Adam recomputes β^t on restore where it kept a running product: ulps, not a bug.
        expect(resumed.loss).toBeCloseTo(whole.loss, 5)
        expect(maxDifference(resumed.delta, whole.delta)).toBeLessThan(1e-5)
      } else {
        expect(resumed.loss).toBe(whole.loss)
        expect(identical(resumed.delta, whole.delta)).toBe(true)
      }
      expect(tf.memory().numTensors).toBe(before)
    },
  )

  it('stops at stopAt after the current step, returning the steps done as partial', async () => {
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan,
      seed: 5,
      ...deadlineDuring(3),
    })
    expect([r.steps, r.examples, r.partial]).toEqual([3, 30, true])
    // The delta is that of the three steps, exactly as a plan of three steps gives it.
    const three = await firstSteps(3, 5)
    expect(three.partial).toBe(false)
    expect(identical(r.delta, three.delta)).toBe(true)
    expect(r.loss).toBe(three.loss)
  })

  it('does at least one step past stopAt, and is not partial when the plan ends in time', async () => {
    const run = (p: TrainPlan, stopAt: number) =>
      trainLocally({ model: model(), weights: initial, examples: train, plan: p, stopAt })
    const late = await run(plan, Date.now() - 1000)
    expect([late.steps, late.examples, late.partial]).toEqual([1, 10, true])
    const inTime = await run({ ...plan, maxSteps: 4 }, Date.now() + 60_000)
    expect([inTime.steps, inTime.partial]).toEqual([4, false])
    // Its one step was the whole plan: stopping changed nothing.
    const one = await run({ ...plan, maxSteps: 1 }, 0)
    expect([one.steps, one.partial]).toEqual([1, false])
    // Past the first epoch, examples stays the distinct examples used.
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: subset(train, range(0, 30)),
      plan: { ...plan, batchSize: 8, localEpochs: 3 },
      ...deadlineDuring(6),
    })
    expect([r.steps, r.examples, r.partial]).toEqual([6, 30, true])
  })

  it('resumes a partial-work run from a checkpoint, and stops it on time', async () => {
    const checkpoints = await reloadedAt(4, { plan, seed: 2, checkpointEvery: 4 })
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan,
      resumeFrom: checkpoints[0]!,
      ...deadlineDuring(7),
    })
    expect([r.steps, r.examples, r.partial]).toEqual([7, 70, true])
    // maxSteps changes totalSteps, not the batches: the same seven steps.
    expect(identical(r.delta, (await firstSteps(7, 2)).delta)).toBe(true)
  })

  it('refuses a checkpoint that does not belong to the plan', async () => {
    const checkpoint: TrainCheckpoint = {
      step: 3,
      totalSteps: 7,
      seed: 1,
      weights: initial,
      optimizer: [],
      examples: 30,
      lossSum: 1,
      lossCount: 30,
    }
    const resume = (c: TrainCheckpoint) =>
      trainLocally({ model: model(), weights: initial, examples: train, plan, resumeFrom: c })
    await expect(resume(checkpoint)).rejects.toThrow(/totalSteps is 7, but this plan takes 200/)
    await expect(resume({ ...checkpoint, totalSteps: 200, step: 201 })).rejects.toThrow(
      /resumeFrom.step must be an integer in 0..200, got 201/,
    )
  })

  it.each(OPTIMIZERS)('leaks no tensors with %s', async (optimizer) => {
    const before = tf.memory().numTensors
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan: { optimizer, learningRate: 0.01, batchSize: 50, localEpochs: 1, maxSteps: 3 },
    })
    expect(r.steps).toBe(3)
    expect(Number.isFinite(r.loss)).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('stops on abort with the reason, leaking nothing, and frees the model', async () => {
    const before = tf.memory().numTensors
    const controller = new AbortController()
    const run = trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan,
      signal: controller.signal,
      onProgress: ({ step }) => {
        if (step === 3) controller.abort(new Error('withdrawn'))
      },
    })
    await expect(run).rejects.toThrow('withdrawn')
    expect(tf.memory().numTensors).toBe(before)
    const r = await trainLocally({
      model: model(),
      weights: initial,
      examples: train,
      plan: { ...plan, maxSteps: 1 },
    })
    expect(r.steps).toBe(1)
  })

  it('refuses a model already in use, and lets runs on separate models interleave', async () => {
    const other = buildModel({ preset: 'mnist-2nn' })
    const order: string[] = []
    const go = (m: typeof other, tag: string) =>
      trainLocally({
        model: m,
        weights: initial,
        examples: train,
        plan: { ...plan, maxSteps: 40 },
        seed: 3,
        yieldEveryMs: 0,
        onProgress: () => order.push(tag),
      })
    const a = go(model(), 'a')
    await expect(go(model(), 'x')).rejects.toThrow(/already in use/)
    const [ra, rb] = await Promise.all([a, go(other, 'b')])
    // Same seed, same start: the interleaving does not change the result.
    expect(identical(rb.delta, ra.delta)).toBe(true)
    const switches = order.slice(1).filter((tag, i) => tag !== order[i]).length
    expect(switches).toBeGreaterThan(10)
    other.dispose()
  })

  it('rejects bad plans and examples that do not fit the model, naming the problem', async () => {
    const call = (p: Partial<TrainPlan>, examples = train, weights = initial) =>
      trainLocally({ model: model(), weights, examples, plan: { ...plan, ...p } })
    const cases: [Promise<unknown>, RegExp][] = [
      [call({ optimizer: 'lbfgs' as never }), /plan.optimizer: unknown optimizer 'lbfgs'/],
      [call({ learningRate: 0 }), /plan.learningRate/],
      [call({ batchSize: 2.5 }), /plan.batchSize/],
      [call({ localEpochs: 0 }), /plan.localEpochs/],
      [call({ maxSteps: -1 }), /plan.maxSteps/],
      [call({ proximalMu: -0.1 }), /plan.proximalMu must be a non-negative number/],
      [call({}, subset(train, [])), /no examples/],
      [call({}, { ...train, count: 999 }), /1000 labels for 999 examples/],
      [
        call(
          {},
          train,
          initial.filter((t) => t.name !== 'fc3/bias'),
        ),
        /no tensor for weight 'fc3\/bias'/,
      ],
    ]
    for (const [promise, message] of cases) await expect(promise).rejects.toThrow(message)
  })

  it('refuses up front a model the backend cannot train, naming the kernels', async () => {
    // TF.js 4.22's wasm backend has no depthwise-convolution gradients (cpu has them); the
    // conv2d filter gradient it lacked, Pollen registers (shared/kernels).
    const depthwise = buildModel({
      preset: 'custom',
      topology: toLayersTopology(
        tfl.sequential({
          name: 'depthwise',
          layers: [
            tfl.layers.depthwiseConv2d({ name: 'dw', inputShape: [28, 28, 1], kernelSize: 3 }),
            tfl.layers.flatten({ name: 'flat' }),
            tfl.layers.dense({ name: 'out', units: 10, activation: 'softmax' }),
          ],
        }),
      ),
    })
    const missing = ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']
    expect(missingTrainingKernels(depthwise, 'wasm')).toEqual(missing)
    await import('@tensorflow/tfjs-backend-cpu') // registers cpu's kernels; wasm stays active
    expect(missingTrainingKernels(depthwise, 'cpu')).toEqual([])
    const synet = buildModel({ preset: 'synet' })
    expect(missingTrainingKernels(synet, 'wasm')).toEqual([])
    synet.dispose()
    expect(missingTrainingKernels(model(), 'wasm')).toEqual([])
    const before = tf.memory().numTensors
    const w = getWeights(depthwise)
    await expect(
      trainLocally({ model: depthwise, weights: w, examples: train, plan }),
    ).rejects.toThrow(
      "cannot train model 'depthwise' on the 'wasm' backend: it has no " +
        `${missing.join(', ')} kernels`,
    )
    expect(tf.memory().numTensors).toBe(before)
    depthwise.dispose()
  })
})
