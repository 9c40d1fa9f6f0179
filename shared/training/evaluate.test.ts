import { beforeAll, describe, expect, it } from 'vitest'
import { type Digits, subset } from '../data/index.ts'
import type { NamedTensor } from '../tensors/named-tensor.ts'
import { tf } from '../tf/index.ts'
import { evaluate } from './index.ts'
import { lazyModel, mnistDigits, range } from './testing.ts'

let test: Digits
const model = lazyModel()
let initial: NamedTensor[]

beforeAll(async () => ({ test, initial } = await mnistDigits(model)))

describe('evaluate', () => {
  it('reports accuracy, loss and per-label accuracy consistently, without leaks', async () => {
    const before = tf.memory().numTensors
    const e = await evaluate({ model: model(), weights: initial, examples: test, batchSize: 64 })
    expect(tf.memory().numTensors).toBe(before)
    expect(e.examples).toBe(500)
    expect(e.perLabelAccuracy).toHaveLength(10)
    const counts = new Array<number>(10).fill(0)
    for (const l of test.labels) counts[l]!++
    const weighted = e.perLabelAccuracy.reduce((s, a, l) => s + a * counts[l]!, 0) / 500
    expect(weighted).toBeCloseTo(e.accuracy, 10)
    expect(e.loss).toBeGreaterThan(1.5) // untrained: close to ln 10
    // Batch size does not change the answer.
    const whole = await evaluate({ model: model(), examples: test, batchSize: 500 })
    expect(whole.accuracy).toBe(e.accuracy)
    expect(whole.loss).toBeCloseTo(e.loss, 5)
  })

  it('reads a NaN loss, not a clipped finite one, off a model whose outputs are not finite', async () => {
    // Every weight at float32's maximum: each is finite, the activations overflow to NaN.
    const huge = initial.map((t) => ({ ...t, data: new Float32Array(t.data.length).fill(3.4e38) }))
    const e = await evaluate({ model: model(), weights: huge, examples: test, batchSize: 64 })
    expect(e.loss).toBeNaN()
  })

  it('counts where each label went in a confusion matrix that agrees with the accuracies', async () => {
    const e = await evaluate({ model: model(), weights: initial, examples: test, batchSize: 64 })
    expect(e.confusion).toHaveLength(10)
    expect(e.confusion.every((row) => row.length === 10)).toBe(true)
    const counts = new Array<number>(10).fill(0)
    for (const l of test.labels) counts[l]!++
    // Row l holds every held-out example of label l; its diagonal is the ones predicted right.
    expect(e.confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual(counts)
    e.confusion.forEach((row, l) => {
      if (counts[l]! > 0) expect(row[l]! / counts[l]!).toBeCloseTo(e.perLabelAccuracy[l]!, 10)
    })
    const right = e.confusion.reduce((n, row, l) => n + row[l]!, 0)
    expect(right / 500).toBeCloseTo(e.accuracy, 10)
  })

  it('gives NaN for labels without examples', async () => {
    const ones = subset(
      test,
      range(0, 500).filter((i) => test.labels[i] === 1),
    )
    const e = await evaluate({ model: model(), weights: initial, examples: ones })
    expect(e.perLabelAccuracy.filter((a) => !Number.isNaN(a))).toEqual([e.accuracy])
  })

  it('rejects what it cannot evaluate', async () => {
    await expect(evaluate({ model: model(), examples: subset(test, []) })).rejects.toThrow(
      /no examples/,
    )
    await expect(evaluate({ model: model(), examples: test, batchSize: 0 })).rejects.toThrow(
      /batchSize/,
    )
  })
})
