import { beforeAll, describe, expect, it } from 'vitest'
import { tf, useBackend } from '../tf/index.ts'
import { fastestStep, measureSpeed } from './index.ts'

beforeAll(async () => {
  await useBackend('wasm')
})

describe('fastestStep', () => {
  it('times each step from the end of the one before, and keeps the fastest', () => {
    expect(fastestStep(100, [300, 350, 420], 16)).toEqual({
      examplesPerSecond: 320,
      batchSize: 16,
      stepMs: 50,
      steps: 3,
    })
    expect(fastestStep(0, [250], 1).examplesPerSecond).toBe(4)
    expect(() => fastestStep(0, [], 1)).toThrow(/no step/)
  })
})

describe('measureSpeed', () => {
  // mnist-2nn: the same procedure as on synet, in a fraction of the time.
  it('times full steps of the model on the active backend, and leaves nothing behind', async () => {
    const before = tf.memory().numTensors
    const started = performance.now()
    const speed = await measureSpeed({ spec: { preset: 'mnist-2nn' }, budgetMs: 100 })
    expect(performance.now() - started).toBeLessThan(5000) // ~0.5 s; more when the machine is busy
    expect(speed.batchSize).toBe(16)
    expect(speed.steps).toBeGreaterThanOrEqual(1)
    // ~10,000 examples/s on wasm here; far more than the cpu backend's ~1,200 even when busy.
    expect(speed.examplesPerSecond).toBeGreaterThan(500)
    expect(speed.examplesPerSecond).toBe((1000 * 16) / speed.stepMs)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('answers from a smaller step when the next should take longer than maxStepMs', async () => {
    // A clock 10,000 times slower makes this backend look like one that takes seconds a step.
    const slow = () => performance.now() * 10_000
    const speed = await measureSpeed({ spec: { preset: 'mnist-2nn' }, now: slow })
    expect([speed.batchSize, speed.steps]).toEqual([1, 1])
    expect(speed.examplesPerSecond).toBeLessThan(100)
    const capped = await measureSpeed({ spec: { preset: 'mnist-2nn' }, maxStepMs: 0 })
    expect(capped.batchSize).toBe(1)
    const whole = await measureSpeed({ spec: { preset: 'mnist-2nn' }, batchSize: 4, budgetMs: 50 })
    expect(whole.batchSize).toBe(4)
  })
})
