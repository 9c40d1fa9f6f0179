import { describe, expect, it } from 'vitest'
import { claimBound, claimRefusal, widenedBound } from './claims.ts'

const plan = { optimizer: 'sgd' as const, learningRate: 0.1, batchSize: 32, localEpochs: 2 }

describe('what an update may claim', () => {
  it('allows the plan’s steps on what was declared, and the examples those steps can see', () => {
    // 2 epochs of ⌈600/32⌉ = 19 batches.
    const bound = claimBound(plan, 600)
    expect(bound).toEqual({ declared: 600, steps: 38, batchSize: 32 })
    expect(claimRefusal(bound, { examples: 600, steps: 38 })).toBeNull()
    // Partial work: 5 steps saw at most 160 distinct examples.
    expect(claimRefusal(bound, { examples: 160, steps: 5 })).toBeNull()
    expect(claimRefusal(bound, { examples: 161, steps: 5 })).toMatchObject({
      field: 'metadata.examples',
      message: '161 examples cannot be seen in 5 steps of batch 32 (at most 160)',
    })
    expect(claimRefusal(bound, { examples: 601, steps: 38 })?.field).toBe('metadata.examples')
    expect(claimRefusal(bound, { examples: 600, steps: 39 })?.field).toBe('metadata.steps')
    expect(claimRefusal(bound, { examples: 1, steps: 0 })?.field).toBe('metadata.steps')
  })

  it('counts a deadline-sized plan’s maxSteps, and the larger plan of a device told again', () => {
    const sized = claimBound({ ...plan, maxSteps: 7 }, 600)
    expect(sized.steps).toBe(7)
    expect(claimRefusal(sized, { examples: 224, steps: 8 })?.field).toBe('metadata.steps')
    const again = widenedBound(sized, { ...plan, maxSteps: 12 })
    expect(again).toEqual({ declared: 600, steps: 12, batchSize: 32 })
    expect(widenedBound(again, { ...plan, maxSteps: 3 }).steps).toBe(12)
  })
})
