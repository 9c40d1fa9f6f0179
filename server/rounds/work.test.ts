import { describe, expect, it } from 'vitest'
import {
  EligibilitySchema,
  type TrainPlanWire,
  WorkSettingsSchema,
} from '../../shared/protocol/index.ts'
import { ineligibility, sizeWork } from './work.ts'

const plan: TrainPlanWire = { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 }
const on = WorkSettingsSchema.parse({ deadlineAware: true, margin: 0.25 })

describe('deadline-aware work budgets', () => {
  it('gives the steps the device can run in the time left less the margin', () => {
    // 100 examples/s × 60 s × 0.75 = 4500 examples = 140.6 batches of 32 → 140 steps.
    const sized = sizeWork({
      plan,
      work: on,
      deadlineSeconds: 60,
      secondsLeft: 60,
      examplesPerSecond: 100,
    })
    expect(sized.maxSteps).toBe(140)
    // A slow phone, 8 examples/s, with 40 s left: 8 × 40 × 0.75 = 240 examples → 7 steps.
    expect(
      sizeWork({ plan, work: on, deadlineSeconds: 60, secondsLeft: 40, examplesPerSecond: 8 })
        .maxSteps,
    ).toBe(7)
  })

  it('keeps a smaller cap the plan had, and always leaves one step', () => {
    expect(
      sizeWork({
        plan: { ...plan, maxSteps: 5 },
        work: on,
        deadlineSeconds: 60,
        secondsLeft: 60,
        examplesPerSecond: 100,
      }).maxSteps,
    ).toBe(5)
    expect(
      sizeWork({ plan, work: on, deadlineSeconds: 60, secondsLeft: 0.5, examplesPerSecond: 1 })
        .maxSteps,
    ).toBe(1)
    expect(
      sizeWork({ plan, work: on, deadlineSeconds: 60, secondsLeft: -3, examplesPerSecond: 100 })
        .maxSteps,
    ).toBe(1)
  })

  it('leaves a device that reported no speed unsized, but still tells it when to stop', () => {
    const sized = sizeWork({
      plan,
      work: on,
      deadlineSeconds: 60,
      secondsLeft: 60,
      examplesPerSecond: undefined,
    })
    expect(sized.maxSteps).toBeUndefined()
    // Half the 25% margin of 60 s.
    expect(sized.partialAtSecondsLeft).toBe(7.5)
  })

  it('bounds the partial-upload reserve to 1 s – 60 s, and drops it when partial uploads are off', () => {
    const at = (deadlineSeconds: number, work = on) =>
      sizeWork({ plan, work, deadlineSeconds, secondsLeft: 1, examplesPerSecond: 1 })
        .partialAtSecondsLeft
    expect(at(4)).toBe(1)
    expect(at(3600)).toBe(60)
    expect(at(60, { ...on, partialUploads: false })).toBeUndefined()
  })

  it('changes nothing when the task does not size work', () => {
    const off = WorkSettingsSchema.parse({})
    expect(
      sizeWork({ plan, work: off, deadlineSeconds: 60, secondsLeft: 1, examplesPerSecond: 1 }),
    ).toEqual(plan)
  })
})

describe('eligibility rules', () => {
  const rules = (r: object) => EligibilitySchema.parse(r)

  it('admits everything when the task has no rules', () => {
    expect(ineligibility(null, rules({}))).toBeNull()
    expect(ineligibility({ backend: 'cpu' }, rules({}))).toBeNull()
  })

  it('ranks backends cpu < wasm < webgpu', () => {
    const wasm = rules({ minBackend: 'wasm' })
    expect(ineligibility({ backend: 'cpu' }, wasm)).toMatchObject({ kind: 'permanent' })
    expect(ineligibility({ backend: 'wasm' }, wasm)).toBeNull()
    expect(ineligibility({ backend: 'webgpu' }, wasm)).toBeNull()
    expect(ineligibility({ backend: 'wasm' }, rules({ minBackend: 'webgpu' }))?.reason).toMatch(
      /webgpu backend or better/,
    )
  })

  it('refuses a device that does not say what a rule asks about', () => {
    expect(ineligibility({ backend: 'wasm' }, rules({ minMemoryMB: 1024 }))?.reason).toBe(
      'needs at least 1024 MB of memory',
    )
    expect(ineligibility({ backend: 'wasm', memoryMB: 2048 }, rules({ minMemoryMB: 1024 }))).toBe(
      null,
    )
    expect(ineligibility({ backend: 'wasm' }, rules({ requireCharging: true }))).toEqual({
      kind: 'transient',
      reason: 'takes devices only while they charge',
    })
    expect(
      ineligibility({ backend: 'wasm', network: 'metered' }, rules({ requireUnmetered: true })),
    ).toMatchObject({ kind: 'transient' })
    expect(
      ineligibility(
        { backend: 'wasm', charging: true, network: 'unmetered' },
        rules({ requireCharging: true, requireUnmetered: true }),
      ),
    ).toBeNull()
  })
})
