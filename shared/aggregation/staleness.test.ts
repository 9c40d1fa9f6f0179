import { describe, expect, it } from 'vitest'
import { stalenessWeight } from './index.ts'

describe('staleness weight (FedBuff)', () => {
  it('is 1/(1 + τ)^a', () => {
    expect(stalenessWeight(0, 0.5)).toBe(1) // 1/1^0.5
    expect(stalenessWeight(3, 0.5)).toBe(0.5) // 1/√4
    expect(stalenessWeight(1, 1)).toBe(0.5) // 1/2
    expect(stalenessWeight(7, 1 / 3)).toBeCloseTo(0.5, 12) // 1/∛8
    expect(stalenessWeight(9, 2)).toBeCloseTo(0.01, 12) // 1/10²
    expect(stalenessWeight(100, 0)).toBe(1) // a = 0: staleness ignored
  })

  it('refuses negative or non-finite input', () => {
    expect(() => stalenessWeight(-1, 0.5)).toThrow(/staleness -1 is not a finite non-negative/)
    expect(() => stalenessWeight(NaN, 0.5)).toThrow(/staleness NaN/)
    expect(() => stalenessWeight(Infinity, 0.5)).toThrow(/staleness Infinity/)
    expect(() => stalenessWeight(1, -0.5)).toThrow(/exponent -0.5 is not a finite non-negative/)
    expect(() => stalenessWeight(1, NaN)).toThrow(/exponent NaN/)
    expect(() => stalenessWeight(1, Infinity)).toThrow(/exponent Infinity/)
  })
})
