import { beforeAll, describe, expect, it } from 'vitest'
import { type Digits, subset } from '../data/index.ts'
import { buildModel, getWeights, toLayersTopology } from '../models/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { tfl } from '../tf/index.ts'
import { type TrainPlan, trainLocally } from './index.ts'
import { identical, lazyModel, maxDifference, mnistDigits, plan, range } from './testing.ts'

let train: Digits
const model = lazyModel()
let initial: NamedTensor[]

beforeAll(async () => ({ train, initial } = await mnistDigits(model)))

describe('trainLocally with FedProx (proximalMu)', () => {
  const norm = (delta: NamedTensor[]) =>
    Math.sqrt(delta.reduce((s, t) => s + t.data.reduce((a, v) => a + v * v, 0), 0))
  const run = (
    p: Partial<TrainPlan>,
    m = model(),
    w = initial,
    examples = train,
    losses: number[] = [],
  ) =>
    trainLocally({
      model: m,
      weights: w,
      examples,
      plan: { ...plan, ...p },
      seed: 4,
      onProgress: ({ loss }) => losses.push(loss),
    })

  it('with μ = 0 is plain training, bit for bit', async () => {
    const [plain, zero] = [await run({ maxSteps: 20 }), await run({ maxSteps: 20, proximalMu: 0 })]
    expect(identical(zero.delta, plain.delta)).toBe(true)
    expect(zero.loss).toBe(plain.loss)
  })

  it('with a large μ moves less far from the global weights, on the same seed', async () => {
    const plain = await run({ maxSteps: 60 })
    const pulled = await run({ maxSteps: 60, proximalMu: 1 })
    expect(norm(pulled.delta)).toBeLessThan(0.8 * norm(plain.delta))
    expect(pulled.loss).toBeLessThan(Math.log(10)) // it still learns
  })

  it('adds μ · (w − w_global) to each gradient: two SGD steps on a tiny dense model', async () => {
    // Step 1 starts at w_global, where the term is 0. Step 2 starts at w1 = w_global + d1, and
    // plain SGD goes to w1 − η∇L(w1); FedProx goes η·μ·d1 further back: d2(μ) = d2(0) − η·μ·d1.
    const tiny = buildModel({
      preset: 'custom',
      topology: toLayersTopology(
        tfl.sequential({
          name: 'tiny',
          layers: [
            tfl.layers.dense({
              name: 'out',
              inputShape: [784],
              units: 10,
              activation: 'softmax',
            }),
          ],
        }),
      ),
    })
    const global = getWeights(tiny)
    const few = subset(train, range(0, 20))
    const full: Partial<TrainPlan> = { learningRate: 0.5, batchSize: 20, localEpochs: 2 }
    const mu = 0.5
    const d1 = (await run({ ...full, maxSteps: 1, proximalMu: mu }, tiny, global, few)).delta
    const [losses, lossesMu]: number[][] = [[], []]
    const d2 = (await run(full, tiny, global, few, losses)).delta
    const d2mu = (await run({ ...full, proximalMu: mu }, tiny, global, few, lossesMu)).delta
    const expected = d2.map((t, i) => ({
      ...t,
      data: t.data.map((v, j) => v - 0.5 * mu * d1[i]!.data[j]!),
    }))
    expect(maxDifference(d2mu, expected)).toBeLessThan(1e-6)
    expect(maxDifference(d2mu, d2)).toBeGreaterThan(1e-3) // the term did something
    // Both runs are at w1 for step 2: the loss reported is the examples' alone, without the
    // term's μ/2 · ‖d1‖², so what the dashboard plots means the same with and without FedProx.
    expect(lossesMu).toEqual(losses)
    tiny.dispose()
  })
})
