import { describe, expect, it } from 'vitest'
import type { Assignment, TrainPlanWire } from '../../shared/protocol/index.ts'
import { decodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import { encodeUpdate, partialWorkStop, privatized, updateMetadata } from './update.ts'

// Moved here from runtime.test.ts with the code they test (update.ts).

const DEADLINE = '2030-01-01T00:00:00.000Z'

const assignment = (plan: Partial<TrainPlanWire> = {}): Assignment => ({
  type: 'assignment',
  taskId: 't1',
  round: 3,
  dataset: 'mnist',
  model: { spec: { preset: 'mnist-2nn' }, hash: 'ab'.repeat(32), url: '/m' },
  plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1, ...plan },
  deadline: DEADLINE,
  uploadUrl: '/api/v1/devices/updates/t1/3',
})

describe('partial work in the device runtime', () => {
  it("stops partialAtSecondsLeft before the assignment's deadline", () => {
    const at = Date.parse(DEADLINE)
    expect(partialWorkStop(assignment({ partialAtSecondsLeft: 15 }))).toBe(at - 15_000)
    expect(partialWorkStop(assignment({ partialAtSecondsLeft: 0 }))).toBe(at)
    expect(partialWorkStop(assignment())).toBeUndefined()
  })
})

describe('what an update weighs', () => {
  it('says its examples, steps, loss and base model, and partial work only when partial', () => {
    const trained = { delta: [], examples: 40, steps: 4, loss: 1.5 }
    expect(updateMetadata(assignment(), trained)).toEqual({
      examples: 40,
      steps: 4,
      loss: 1.5,
      baseModel: 'ab'.repeat(32),
    })
    expect(updateMetadata(assignment(), { ...trained, loss: NaN, partial: true })).toEqual({
      examples: 40,
      steps: 4,
      baseModel: 'ab'.repeat(32),
      partial: true,
    })
  })

  it('goes on the wire with the (privatized) delta', () => {
    const delta: NamedTensor[] = [
      { name: 'w', shape: [2], dtype: 'float32', data: new Float32Array([3, 4]) },
    ]
    const body = encodeUpdate(
      { ...assignment(), privacy: { clipNorm: 1, noiseStd: 0 } },
      {
        delta,
        examples: 1,
        steps: 1,
        loss: 0,
      },
    )
    const { tensors, metadata } = decodeContainer(body)
    expect(Array.from(tensors[0]!.data)).toEqual([expect.closeTo(0.6, 5), expect.closeTo(0.8, 5)])
    expect(metadata).toMatchObject({ examples: 1, steps: 1, baseModel: 'ab'.repeat(32) })
  })
})

describe('a private task’s update on the device', () => {
  const privateAssignment = (privacy?: Assignment['privacy']) =>
    ({ ...(privacy ? { privacy } : {}) }) as Assignment
  const big = (): NamedTensor[] => [
    { name: 'a', shape: [100_000], dtype: 'float32', data: new Float32Array(100_000).fill(0.1) },
  ]
  const norm = (t: NamedTensor[]) => Math.sqrt(t[0]!.data.reduce((s, v) => s + v * v, 0))

  it('is unchanged without privacy', () => {
    const delta = big()
    expect(privatized(privateAssignment(), delta)).toBe(delta)
  })

  it('is clipped to the norm, and noised with the standard deviation it was given', () => {
    const clipped = privatized(privateAssignment({ clipNorm: 2, noiseStd: 0 }), big())
    expect(norm(clipped)).toBeCloseTo(2, 4)
    expect(norm(clipped)).toBeLessThanOrEqual(2)
    const noised = privatized(privateAssignment({ clipNorm: 2, noiseStd: 0.5 }), big())[0]!.data
    const signal = 2 / Math.sqrt(100_000)
    const residual = noised.map((v) => v - signal)
    const mean = residual.reduce((s, v) => s + v, 0) / residual.length
    const std = Math.sqrt(residual.reduce((s, v) => s + (v - mean) ** 2, 0) / residual.length)
    // 5 standard errors: 0.5/√n for the mean, 0.5/√(2n) for the standard deviation.
    expect(Math.abs(mean)).toBeLessThan(5 * (0.5 / Math.sqrt(100_000)))
    expect(Math.abs(std - 0.5)).toBeLessThan(5 * (0.5 / Math.sqrt(200_000)))
  })
})
