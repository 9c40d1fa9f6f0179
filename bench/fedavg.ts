// FedAvg (McMahan et al. 2017, Algorithm 1) through Pollen's own parts: each sampled device trains
// with shared/training's trainLocally, the server takes shared/aggregation's weighted mean of the
// deltas (weights n_k) and applies it, and shared/training's evaluate scores the held-out set.
import * as tfl from '@tensorflow/tfjs-layers'
import { createWeightedMean, applyDelta } from '../shared/aggregation/index.ts'
import { type Examples, mulberry32 } from '../shared/data/index.ts'
import {
  buildModel,
  initialWeights,
  type ModelSpec,
  toLayersTopology,
  weightSpec,
} from '../shared/models/index.ts'
import type { NamedTensor } from '../shared/tensors/index.ts'
import { evaluate, trainLocally } from '../shared/training/index.ts'

/** The protocol's knobs, named as in the paper. */
export interface Protocol {
  /** K: devices, each with its own shard. */
  devices: number
  /** C: the fraction of the K devices sampled each round (at least one). */
  fraction: number
  /** E: local epochs. */
  localEpochs: number
  /** B: local minibatch size. */
  batchSize: number
  learningRate: number
  rounds: number
  /** Seeds the initial weights, the device sampling and the local shuffles. */
  seed: number
}

/** m = max(C·K, 1) devices per round (the paper's rule), rounded to the nearest whole device. */
export const perRound = ({ devices, fraction }: Pick<Protocol, 'devices' | 'fraction'>): number =>
  Math.max(1, Math.round(fraction * devices))

/**
 * The devices each round samples: m of the K, without replacement, uniformly, from a seeded
 * generator, sorted. Both sides train exactly these, so sampling is no source of difference.
 */
export function sampleRounds(protocol: Protocol): number[][] {
  const random = mulberry32(protocol.seed ^ 0x5eed)
  const m = perRound(protocol)
  return Array.from({ length: protocol.rounds }, () => {
    const pool = Array.from({ length: protocol.devices }, (_, i) => i)
    // A partial Fisher-Yates: the first m of a shuffle.
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(random() * (pool.length - i))
      ;[pool[i], pool[j]] = [pool[j]!, pool[i]!]
    }
    return pool.slice(0, m).sort((a, b) => a - b)
  })
}

/** The paper's 2NN (two hidden layers of 200, ReLU) for `inputSize` features and `classes` classes. */
export function twoNN(inputSize: number, classes: number): ModelSpec {
  const model = tfl.sequential({
    name: 'fedavg-2nn',
    layers: [
      tfl.layers.dense({ name: 'fc1', inputShape: [inputSize], units: 200, activation: 'relu' }),
      tfl.layers.dense({ name: 'fc2', units: 200, activation: 'relu' }),
      tfl.layers.dense({ name: 'fc3', units: classes, activation: 'softmax' }),
    ],
  })
  try {
    return { preset: 'custom', topology: toLayersTopology(model) }
  } finally {
    model.dispose()
  }
}

/** A local run's own shuffle seed: the round's and the device's, so reruns repeat it. */
export const localSeed = (round: number, device: number): number => round * 1000 + device

export interface RoundResult {
  round: number
  accuracy: number
  loss: number
  /** Local training of every sampled device plus the aggregation, one after another. */
  trainSeconds: number
  evalSeconds: number
}

/** Pollen's side of one FedAvg run: call `round` once per round, in order. */
export interface PollenFedAvg {
  /** The initial weights (also handed to the PyTorch reference). */
  initial: NamedTensor[]
  round(round: number, devices: readonly number[]): Promise<RoundResult>
  dispose(): void
}

export function pollenFedAvg(
  spec: ModelSpec,
  shards: readonly Examples[],
  test: Examples,
  protocol: Protocol,
): PollenFedAvg {
  const initial = initialWeights(spec, protocol.seed)
  const model = buildModel(spec)
  const specs = weightSpec(model)
  let global = initial
  const plan = {
    optimizer: 'sgd' as const,
    learningRate: protocol.learningRate,
    batchSize: protocol.batchSize,
    localEpochs: protocol.localEpochs,
  }
  return {
    initial,
    async round(round, devices) {
      const started = performance.now()
      const mean = createWeightedMean(specs)
      for (const d of devices) {
        const examples = shards[d]
        if (!examples) throw new RangeError(`device ${d} has no shard (K = ${shards.length})`)
        const { delta, examples: n } = await trainLocally({
          model,
          weights: global,
          examples,
          plan,
          seed: localSeed(round, d),
          yieldEveryMs: 1000,
        })
        mean.add(delta, n)
      }
      const step = mean.mean()
      if (!step) throw new Error(`round ${round}: no update to aggregate`)
      global = applyDelta(global, step)
      const trained = performance.now()
      const { accuracy, loss } = await evaluate({ model, weights: global, examples: test })
      return {
        round,
        accuracy,
        loss,
        trainSeconds: (trained - started) / 1000,
        evalSeconds: (performance.now() - trained) / 1000,
      }
    },
    dispose: () => model.dispose(),
  }
}
