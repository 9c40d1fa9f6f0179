import { describe, expect, it } from 'vitest'
import {
  CapabilitiesSchema,
  DatasetHeldSchema,
  describeIssues,
  MAX_DEVICE_EXAMPLES,
  MAX_UPDATE_STEPS,
  UpdateMetadataSchema,
} from './index.ts'

const fieldsOf = (result: { success: boolean; error?: Parameters<typeof describeIssues>[0] }) =>
  result.error ? describeIssues(result.error).map((i) => i.field) : []

describe('the counts a device sends are bounded where they are parsed', () => {
  it('takes a dataset of up to 10,000,000 examples, and no label count past it', () => {
    const held = (examples: number, labels: number[]) =>
      DatasetHeldSchema.safeParse({ name: 'mnist', examples, labels })
    expect(held(MAX_DEVICE_EXAMPLES, [MAX_DEVICE_EXAMPLES]).success).toBe(true)
    expect(fieldsOf(held(MAX_DEVICE_EXAMPLES + 1, [1]))).toEqual(['examples'])
    expect(fieldsOf(held(2 ** 31, [2 ** 53 - 1]))).toEqual(['examples', 'labels.0'])
  })

  it('bounds an update’s examples, steps and loss, so no sum of them overflows', () => {
    const baseModel = 'a'.repeat(64)
    const meta = (over: object) =>
      UpdateMetadataSchema.safeParse({ examples: 600, steps: 19, baseModel, ...over })
    expect(meta({ loss: 2.3 }).success).toBe(true)
    expect(fieldsOf(meta({ examples: 2 ** 31 }))).toEqual(['examples'])
    expect(fieldsOf(meta({ examples: 2 ** 53 - 1 }))).toEqual(['examples'])
    expect(fieldsOf(meta({ steps: MAX_UPDATE_STEPS + 1 }))).toEqual(['steps'])
    expect(fieldsOf(meta({ loss: 1e300 }))).toEqual(['loss'])
    expect(fieldsOf(meta({ loss: -1e300 }))).toEqual(['loss'])
  })

  it('bounds the speed and memory a device reports', () => {
    const caps = (over: object) => CapabilitiesSchema.safeParse({ backend: 'wasm', ...over })
    expect(caps({ examplesPerSecond: 14_800, memoryMB: 8192 }).success).toBe(true)
    expect(fieldsOf(caps({ examplesPerSecond: 1e300, memoryMB: 2 ** 53 }))).toEqual([
      'examplesPerSecond',
      'memoryMB',
    ])
  })
})
