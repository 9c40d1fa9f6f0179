import { describe, expect, it } from 'vitest'
import type { DemoSetting } from '../storage/index.ts'
import { describeDemo } from './counts.ts'

const demo = (kind: DemoSetting['kind'], labels: number[]): DemoSetting => ({
  key: 'demo',
  dataset: 'mnist',
  kind,
  seed: 1,
  count: 100,
  labels,
  loadedAt: 0,
})

describe('describeDemo', () => {
  it('says which demo digits were loaded', () => {
    expect(describeDemo(demo('iid', [0, 1, 2]))).toBe('Demo digits: a random tenth of MNIST.')
    expect(describeDemo(demo('two-digits', [3, 8]))).toBe('Demo digits: two digits only, 3 and 8.')
    expect(describeDemo(demo('two-digits', [7]))).toBe('Demo digits: only 7.')
  })
})
