import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../shared/tf/index.ts'
import { fileBlobStore } from '../blobs/index.ts'
import { createModelRegistry } from '../models/index.ts'
import { heldOutEvaluator } from './index.ts'

describe('heldOutEvaluator', () => {
  beforeAll(() => useBackend('wasm'))

  it('gives null accuracy to a label the held-out set has no examples of', async () => {
    const models = createModelRegistry({
      blobs: fileBlobStore(await mkdtemp(join(tmpdir(), 'pollen-eval-'))),
    })
    const { hash } = await models.create({ preset: 'mnist-2nn' }, 1)
    const labels = Uint8Array.from([1, 1, 3])
    const heldOut = new Map([
      ['mnist', { count: 3, shape: [28, 28, 1], features: new Uint8Array(3 * 784), labels }],
    ])
    const evaluator = heldOutEvaluator({ heldOut })
    const spec = { preset: 'mnist-2nn' } as const
    const result = await evaluator.evaluate(spec, await models.weights(hash), 'mnist')
    expect(result?.examples).toBe(3)
    const perLabel = result!.perLabelAccuracy
    expect(perLabel).toHaveLength(10)
    expect(perLabel.flatMap((a, label) => (a === null ? [] : [label]))).toEqual([1, 3])
    // The rounds API sends what was measured: NaN would turn into null only on the wire.
    expect(JSON.parse(JSON.stringify(perLabel))).toEqual(perLabel)
    // The confusion matrix counts every held-out example in its true label's row.
    expect(result!.confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([
      0, 2, 0, 1, 0, 0, 0, 0, 0, 0,
    ])
    expect(await evaluator.evaluate(spec, [], 'cifar')).toBeNull()
  })
})
