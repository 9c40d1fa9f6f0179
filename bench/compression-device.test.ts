import { describe, expect, it } from 'vitest'
import { seedOf } from './compression-device.ts'

describe("bench:compression's devices", () => {
  it('seed each training job apart: every (device, job) pair its own seed', () => {
    const seeds = new Set<number>()
    for (let d = 0; d < 50; d++) for (let n = 0; n < 50; n++) seeds.add(seedOf(d, n))
    expect(seeds.size).toBe(2500)
    expect([...seeds].every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32)).toBe(true)
  })
})
