import { describe, expect, it } from 'vitest'
import { partialSummary } from './fairness.ts'
import { fraction } from './format.ts'

const partial = (devices: number, deviceShare: number, exampleShare: number) => ({
  key: 'partial' as const,
  devices,
  examples: 0,
  deviceShare,
  exampleShare,
})

describe('partialSummary', () => {
  it('says how many reports were partial work and what share of the examples they brought', () => {
    expect(partialSummary(partial(2, 2 / 30, 0.049), 30)).toBe(
      'Partial work: 2 of 30 reports (7%) stopped short of their plan as the deadline neared, with 5% of the examples.',
    )
  })

  it('says so when none was, or when nobody reported', () => {
    expect(partialSummary(partial(0, 0, 0), 1)).toBe(
      'Partial work: none of the 1 report stopped short of its plan.',
    )
    expect(partialSummary(partial(0, 0, 0), 1200)).toBe(
      'Partial work: none of the 1,200 reports stopped short of its plan.',
    )
    expect(partialSummary(partial(0, 0, 0), 0)).toBe('Partial work: no reports yet.')
  })
})

describe('fraction', () => {
  it('shows accuracy to a tenth of a percent, and a dash for a label not measured', () => {
    expect(fraction(0.9134)).toBe('91.3%')
    expect(fraction(0)).toBe('0.0%')
    expect(fraction(null)).toBe('–')
  })
})
