import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { type Examples, mulberry32, permutation, randomSeed } from '../data/index.ts'
import { getWeights, setWeights, updateSpec, weightName } from '../models/index.ts'
import { plannedSteps } from '../protocol/device.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { batchTensors, crossEntropy, forward, modelIo, withModel, yielder } from './common.ts'
import { assertTrainable } from './kernels.ts'

export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'adadelta' | 'rmsprop'

export const OPTIMIZERS: readonly OptimizerName[] = [
  'sgd',
  'momentum',
  'adam',
  'adadelta',
  'rmsprop',
]

/** The local work a device does on its examples in one round. */
export interface TrainPlan {
  optimizer: OptimizerName
  learningRate: number
  batchSize: number
  /** Passes over the local examples (FedAvg's E). */
  localEpochs: number
  /** Stop after this many optimizer steps, even mid-epoch (deadline-aware local work). */
  maxSteps?: number
  /**
   * FedProx's μ (Li et al. 2020): the local objective gains μ/2 · ‖w − w_global‖² over the
   * trainable weights, so a device that does many steps drifts less far. Absent or 0: plain.
   */
  proximalMu?: number
}

export interface TrainProgress {
  /** Optimizer steps done so far, 1-based. */
  step: number
  totalSteps: number
  /** This batch's mean loss. */
  loss: number
}

/**
 * Local training stopped part-way, enough to carry on as if it never stopped: the weights and
 * the optimizer's state after `step` steps, the shuffles' seed, and the running counts.
 */
export interface TrainCheckpoint {
  /** Optimizer steps done. */
  step: number
  totalSteps: number
  seed: number
  /** The model's weights after `step` steps. */
  weights: NamedTensor[]
  /** The optimizer's state (its iteration count and slots), in its own order. */
  optimizer: NamedTensor[]
  /** Distinct examples used so far. */
  examples: number
  /** Sum and count of the current epoch's per-example losses. */
  lossSum: number
  lossCount: number
}

export interface TrainOptions {
  /** A built model (cached by the caller per spec); its weights are overwritten. Not shared by concurrent runs. */
  model: tfl.LayersModel
  /** The global weights the round starts from. */
  weights: readonly NamedTensor[]
  examples: Examples
  plan: TrainPlan
  /** Seeds the per-epoch shuffles: same seed, same backend, same result (dropout aside). */
  seed?: number
  onProgress?: (progress: TrainProgress) => void
  /** Aborting stops before the next batch; trainLocally then rejects with the signal's reason. */
  signal?: AbortSignal
  /** Yield to the event loop when this many ms passed since the last yield. Default 10. */
  yieldEveryMs?: number
  /** Carry on from here (made by an earlier run of the same round: same weights, plan, examples). */
  resumeFrom?: TrainCheckpoint
  /** Call `onCheckpoint` after every this many steps (none when the last step is one of them). */
  checkpointEvery?: number
  /** Awaited before training goes on, so a checkpoint is stored before the next is made. */
  onCheckpoint?: (checkpoint: TrainCheckpoint) => void | Promise<void>
  /**
   * Partial work: once `now()` reaches this time, stop after the current step and return what
   * is done, with `partial: true`. At least one step is always done.
   */
  stopAt?: number
  /** The clock `stopAt` is read on. Default Date.now (a worker and its page agree on it). */
  now?: () => number
}

export interface TrainResult {
  /** local − global, one tensor per weight that trains (updateSpec: none of a frozen layer), in the model's weight order. */
  delta: NamedTensor[]
  /** Distinct local examples used (FedAvg's n_k): all of them once a full epoch ran. */
  examples: number
  /** Optimizer steps done. */
  steps: number
  /** Mean training loss over the last epoch that ran (per example; NaN when no step ran). */
  loss: number
  /** Stopped at `stopAt` before the plan's steps were done. */
  partial: boolean
}

/** Momentum for the 'momentum' optimizer. */
export const MOMENTUM = 0.9

export function makeOptimizer({ optimizer, learningRate }: TrainPlan): tf.Optimizer {
  switch (optimizer) {
    case 'sgd':
      return tf.train.sgd(learningRate)
    case 'momentum':
      return tf.train.momentum(learningRate, MOMENTUM)
    case 'adam':
      return tf.train.adam(learningRate)
    case 'adadelta':
      return tf.train.adadelta(learningRate)
    case 'rmsprop':
      return tf.train.rmsprop(learningRate)
    default:
      throw new RangeError(
        `plan.optimizer: unknown optimizer '${String(optimizer)}' (one of ${OPTIMIZERS.join(', ')})`,
      )
  }
}

export function assertPlan(plan: TrainPlan): void {
  const { learningRate, batchSize, localEpochs, maxSteps, proximalMu } = plan
  if (!OPTIMIZERS.includes(plan.optimizer)) makeOptimizer(plan) // throws naming the optimizer
  if (!(Number.isFinite(learningRate) && learningRate > 0)) {
    throw new RangeError(`plan.learningRate must be a positive number, got ${learningRate}`)
  }
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(`plan.batchSize must be a positive integer, got ${batchSize}`)
  }
  if (!(Number.isInteger(localEpochs) && localEpochs > 0)) {
    throw new RangeError(`plan.localEpochs must be a positive integer, got ${localEpochs}`)
  }
  if (maxSteps !== undefined && !(Number.isInteger(maxSteps) && maxSteps >= 0)) {
    throw new RangeError(`plan.maxSteps must be a non-negative integer, got ${maxSteps}`)
  }
  if (proximalMu !== undefined && !(Number.isFinite(proximalMu) && proximalMu >= 0)) {
    throw new RangeError(`plan.proximalMu must be a non-negative number, got ${proximalMu}`)
  }
}

/**
 * Local training, as every device runtime does it: set the global weights, run `plan` with
 * categorical cross-entropy (shuffling each epoch), plus FedProx's proximal term when the plan
 * has a μ, and return the weight delta.
 */
export async function trainLocally(options: TrainOptions): Promise<TrainResult> {
  const { model, weights, examples, plan, signal, onProgress, stopAt } = options
  const now = options.now ?? Date.now
  assertPlan(plan)
  const io = modelIo(model, examples)
  if (examples.count === 0) throw new RangeError('trainLocally: no examples to train on')
  assertTrainable(model)
  const resume = options.resumeFrom
  if (resume) assertResumable(resume, plannedSteps(plan, examples.count))
  return await withModel(model, async () => {
    signal?.throwIfAborted()
    setWeights(model, resume ? resume.weights : weights)
    const seed = resume?.seed ?? options.seed ?? randomSeed()
    const random = mulberry32(seed)
    const pause = yielder(options.yieldEveryMs ?? 10)
    const { count } = examples
    const { batchSize } = plan
    const batchesPerEpoch = Math.ceil(count / batchSize)
    const totalSteps = plannedSteps(plan, count)
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
    const every = options.checkpointEvery ?? 0

    const optimizer = makeOptimizer(plan)
    // w_global, kept on the backend for the proximal term: always the round's weights, so a
    // resumed run pulls towards the same point as the run it carries on.
    const anchors = (plan.proximalMu ?? 0) > 0 ? proximalAnchors(model, weights) : null
    let step = resume?.step ?? 0
    let partial = false
    let distinct = resume?.examples ?? 0
    let lossSum = resume?.lossSum ?? 0
    let lossCount = resume?.lossCount ?? 0
    try {
      if (resume && resume.optimizer.length > 0) await restoreOptimizer(optimizer, resume.optimizer)
      const firstEpoch = Math.floor(step / batchesPerEpoch)
      for (let epoch = 0; step < totalSteps && !partial; epoch++) {
        // The shuffles are replayed from the seed, so a resumed run sees the batches it would have.
        const order = permutation(count, random)
        if (epoch < firstEpoch) continue
        const firstBatch = epoch === firstEpoch ? step % batchesPerEpoch : 0
        if (firstBatch === 0) {
          lossSum = 0
          lossCount = 0
        }
        for (let b = firstBatch; b < batchesPerEpoch && step < totalSteps; b++) {
          signal?.throwIfAborted()
          const indices = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, count))
          const { x, y } = batchTensors(examples, indices, io)
          let cost: tf.Scalar | null
          try {
            const f = () => tf.mean<tf.Scalar>(crossEntropy(y, forward(model, x, true)))
            cost = anchors
              ? proximalStep(optimizer, f, variables, anchors, plan.proximalMu!)
              : optimizer.minimize(f, true, variables)
          } finally {
            tf.dispose([x, y])
          }
          if (!cost) throw new Error('optimizer.minimize returned no cost')
          const loss = (await cost.data())[0]!
          cost.dispose()
          step++
          if (epoch === 0) distinct += indices.length
          lossSum += loss * indices.length
          lossCount += indices.length
          onProgress?.({ step, totalSteps, loss })
          if (step < totalSteps && stopAt !== undefined && now() >= stopAt) {
            partial = true
            break
          }
          if (every > 0 && step % every === 0 && step < totalSteps && options.onCheckpoint) {
            await options.onCheckpoint({
              step,
              totalSteps,
              seed,
              weights: getWeights(model),
              optimizer: await saveOptimizer(optimizer),
              examples: distinct,
              lossSum,
              lossCount,
            })
          }
          await pause()
        }
      }
    } finally {
      disposeOptimizer(optimizer)
      if (anchors) tf.dispose(anchors)
    }

    const global = new Map(weights.map((t) => [t.name, t.data]))
    // Only what trains: a frozen layer's weights are not the device's to send.
    const trained = new Set(updateSpec(model).map((w) => w.name))
    const delta = getWeights(model).filter((t) => trained.has(t.name))
    for (const t of delta) {
      const g = global.get(t.name)!
      for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! - g[i]!
    }
    return {
      delta,
      examples: distinct,
      steps: step,
      loss: lossCount > 0 ? lossSum / lossCount : NaN,
      partial,
    }
  })
}

/** The global weights of the model's trainable variables, in `variables` order, as tensors. */
function proximalAnchors(model: tfl.LayersModel, weights: readonly NamedTensor[]): tf.Tensor[] {
  const byName = new Map(weights.map((t) => [t.name, t]))
  return model.trainableWeights.map((w) => {
    // setWeights already checked every weight is there, with its shape.
    const t = byName.get(weightName(w))!
    return tf.tensor(t.data, t.shape, 'float32')
  })
}

/**
 * One step on loss + μ/2 · ‖w − w_global‖²: the loss's gradients plus μ · (w − w_global), added
 * to the gradients rather than to the loss so the cost returned (and reported) is the loss alone.
 */
function proximalStep(
  optimizer: tf.Optimizer,
  f: () => tf.Scalar,
  variables: tf.Variable[],
  anchors: tf.Tensor[],
  mu: number,
): tf.Scalar {
  const { value, grads } = optimizer.computeGradients(f, variables)
  let pulled: { name: string; tensor: tf.Tensor }[] = []
  try {
    pulled = tf.tidy(() =>
      variables.map((v, i) => ({
        name: v.name,
        tensor: tf.add(grads[v.name]!, tf.mul(tf.sub(v, anchors[i]!), mu)),
      })),
    )
    optimizer.applyGradients(pulled)
  } catch (error) {
    value.dispose()
    throw error
  } finally {
    tf.dispose(grads)
    tf.dispose(pulled.map((g) => g.tensor))
  }
  return value
}

/** A checkpoint must belong to this plan on these examples: same number of steps, not past it. */
function assertResumable(checkpoint: TrainCheckpoint, totalSteps: number): void {
  const { step, seed } = checkpoint
  if (checkpoint.totalSteps !== totalSteps) {
    throw new RangeError(
      `resumeFrom.totalSteps is ${checkpoint.totalSteps}, but this plan takes ${totalSteps} steps on these examples`,
    )
  }
  if (!(Number.isInteger(step) && step >= 0 && step <= totalSteps)) {
    throw new RangeError(`resumeFrom.step must be an integer in 0..${totalSteps}, got ${step}`)
  }
  if (!Number.isInteger(seed))
    throw new RangeError(`resumeFrom.seed must be an integer, got ${seed}`)
}

/** The optimizer's state as plain tensors (its iteration count first, then its slots). */
async function saveOptimizer(optimizer: tf.Optimizer): Promise<NamedTensor[]> {
  const saved = await optimizer.getWeights()
  try {
    return await Promise.all(
      saved.map(async ({ name, tensor }) => ({
        name,
        shape: tensor.shape.slice(),
        dtype: 'float32' as const,
        data: Float32Array.from(await tensor.data()),
      })),
    )
  } finally {
    // The iteration count comes as a fresh scalar; the slots are the optimizer's own variables.
    saved[0]?.tensor.dispose()
  }
}

/** Puts a saved state back (slots are matched by order, as tf.Optimizer keeps them). */
async function restoreOptimizer(optimizer: tf.Optimizer, state: NamedTensor[]): Promise<void> {
  const tensors = state.map((t) => ({
    name: t.name,
    tensor: tf.tensor(t.data, t.shape, 'float32'),
  }))
  try {
    await optimizer.setWeights(tensors)
  } finally {
    tf.dispose(tensors.map((t) => t.tensor))
  }
}

/**
 * `optimizer.dispose()`, plus the learning-rate scalar that tfjs 4.22's MomentumOptimizer
 * forgets (it overrides SGDOptimizer.dispose without calling it).
 */
function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose()
  const c = (optimizer as { c?: unknown }).c
  if (c instanceof tf.Tensor && !c.isDisposed) c.dispose()
}
