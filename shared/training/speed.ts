import type * as tfl from '@tensorflow/tfjs-layers'
import { type Examples, mulberry32, shapeSize } from '../data/index.ts'
import { buildModel, getWeights, type ModelSpec } from '../models/index.ts'
import { trainLocally } from './train.ts'

/**
 * The model a device times itself on, whatever task it will train. Synet (Duet's CNN) because:
 * the speed is reported at check-in, before any task is assigned, so it has to be one model for
 * every device; a CNN is where the time goes and where sizing work to a deadline matters (a
 * round of mnist-2nn takes milliseconds); and the speed tiers (slow < 100 ≤ medium < 500 ≤ fast
 * examples/s) only separate devices on a model that heavy: on mnist-2nn every backend, even
 * plain-JS cpu, would be "fast". For a lighter model the figure is conservative.
 */
export const SPEED_MODEL: ModelSpec = { preset: 'synet' }

export interface SpeedOptions {
  /** The model to time. Default SPEED_MODEL. */
  spec?: ModelSpec
  /** About how long the timed steps take, ms. Default 300. */
  budgetMs?: number
  /**
   * Examples a timed step. Default 16: per example, wasm trains synet as fast as at 32, and the
   * first step of a new shape (memory to grow, shaders to compile) costs half as much.
   */
  batchSize?: number
  /** A larger step is not tried when it should take longer than this, ms. Default 1000. */
  maxStepMs?: number
  /** A monotonic clock, ms. */
  now?: () => number
}

export interface SpeedMeasurement {
  examplesPerSecond: number
  /** Examples in a timed step, and its time (ms): the fastest of `steps` steps. */
  batchSize: number
  stepMs: number
  steps: number
}

/**
 * Times a few training steps of `spec` on random inputs with the active backend (trainLocally,
 * as real work runs). One example twice, the first of which sets kernels up; then one step of
 * `batchSize` examples, or of 4 times as many as the last (and so on) while `batchSize` at once
 * should take longer than `maxStepMs`: a step is tried only when the last says it should take
 * under that (TF.js's plain-JS cpu backend trains synet at about one example a second: it
 * answers from the single example). Those steps also pay what a new shape costs (memory,
 * shaders), so that the steps timed for `budgetMs` at the end cost what real work does. The
 * fastest step counts: other work on the device only ever slows one down, and the figure is
 * kept for weeks.
 */
export async function measureSpeed({
  spec = SPEED_MODEL,
  budgetMs = 300,
  batchSize = 16,
  maxStepMs = 1000,
  now = () => performance.now(),
}: SpeedOptions = {}): Promise<SpeedMeasurement> {
  const model = buildModel(spec)
  try {
    const weights = getWeights(model)
    const examples = randomExamples(model, batchSize, 1)
    /** Steps of `size` examples (at most `steps`, or until `stopAt`) and when each ended. */
    const stepsOf = async (size: number, steps?: number, stopAt?: number) => {
      const ends: number[] = []
      const start = now()
      await trainLocally({
        model,
        weights,
        examples,
        plan: {
          optimizer: 'sgd',
          learningRate: 0.01,
          batchSize: size,
          localEpochs: 1_000_000,
          ...(steps !== undefined ? { maxSteps: steps } : {}),
        },
        seed: 1,
        now,
        ...(stopAt !== undefined ? { stopAt } : {}),
        onProgress: () => ends.push(now()),
      })
      return { start, ends }
    }
    const probe = await stepsOf(1, 2)
    let last = fastestStep(probe.ends[0]!, probe.ends.slice(1), 1)
    // Up to batchSize, by 4 examples when batchSize at once should take too long.
    while (last.batchSize < batchSize) {
      const fits = (size: number) => (last.stepMs * size) / last.batchSize <= maxStepMs
      const size = fits(batchSize) ? batchSize : Math.min(4 * last.batchSize, batchSize)
      if (!fits(size)) return last
      const { start, ends } = await stepsOf(size, 1)
      last = fastestStep(start, ends, size)
    }
    const timed = await stepsOf(batchSize, undefined, now() + budgetMs)
    return fastestStep(timed.start, timed.ends, batchSize)
  } finally {
    model.dispose()
  }
}

/** The fastest of steps of `batchSize` examples run one after another from `start` to `ends`. */
export function fastestStep(start: number, ends: number[], batchSize: number): SpeedMeasurement {
  if (ends.length === 0) throw new RangeError('fastestStep: no step was timed')
  const times = ends.map((end, i) => end - (i === 0 ? start : ends[i - 1]!))
  const stepMs = Math.max(Math.min(...times), Number.EPSILON)
  return { examplesPerSecond: (1000 * batchSize) / stepMs, batchSize, stepMs, steps: ends.length }
}

/**
 * `count` examples of uniform noise with random labels, of the shape the model takes and the
 * classes it outputs: speed does not depend on the data.
 */
function randomExamples(model: tfl.LayersModel, count: number, seed: number): Examples {
  const random = mulberry32(seed)
  const shape = model.inputs[0]!.shape.slice(1) as number[]
  const classes = model.outputs[0]!.shape[1] as number
  const features = Uint8Array.from({ length: count * shapeSize(shape) }, () => random() * 256)
  const labels = Uint8Array.from({ length: count }, () => random() * classes)
  return { count, shape, features, labels }
}
