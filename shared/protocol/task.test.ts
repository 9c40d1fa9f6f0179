import { describe, expect, it } from 'vitest'
import { describeIssues, TaskSpecSchema } from './index.ts'

const spec = (aggregation?: object) =>
  TaskSpecSchema.safeParse({
    name: 'x',
    purpose: 'p',
    model: { preset: 'mnist-2nn' },
    ...(aggregation ? { aggregation } : {}),
  })

describe('a task’s update bounds', () => {
  it('are adaptive by default; a fixed norm or "off" may be asked for', () => {
    expect(spec().data?.aggregation).toMatchObject({
      normBound: 'adaptive',
      weightBound: 'adaptive',
    })
    expect(spec({ normBound: 2.5, weightBound: 'off' }).data?.aggregation).toMatchObject({
      normBound: 2.5,
      weightBound: 'off',
    })
    expect(spec({ normBound: 'off' }).data?.aggregation.normBound).toBe('off')
  })

  it('refuses a bound that bounds nothing, naming the field', () => {
    for (const [aggregation, field] of [
      [{ normBound: 0 }, 'aggregation.normBound'],
      [{ normBound: -1 }, 'aggregation.normBound'],
      [{ normBound: Number.POSITIVE_INFINITY }, 'aggregation.normBound'],
      [{ normBound: 'median' }, 'aggregation.normBound'],
      [{ weightBound: 3 }, 'aggregation.weightBound'],
    ] as const) {
      const parsed = spec(aggregation)
      expect(parsed.success, JSON.stringify(aggregation)).toBe(false)
      expect(describeIssues(parsed.error!).map((i) => i.field)).toEqual([field])
    }
  })

  it('refuses bounds a private task would ignore, naming each', () => {
    const privacy = { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10, population: 1000 }
    const parsed = TaskSpecSchema.safeParse({
      name: 'x',
      purpose: 'p',
      model: { preset: 'mnist-2nn' },
      privacy,
      aggregation: { normBound: 5, weightBound: 'off' },
    })
    expect(parsed.success).toBe(false)
    const issues = describeIssues(parsed.error!)
    expect(issues.map((i) => i.field)).toEqual(['aggregation.normBound', 'aggregation.weightBound'])
    expect(issues[0]!.message).toContain('privacy.clipNorm')
    // Left out, the defaults stand (and do nothing there).
    const plain = TaskSpecSchema.safeParse({
      name: 'x',
      purpose: 'p',
      model: { preset: 'mnist-2nn' },
      privacy,
    })
    expect(plain.success).toBe(true)
  })
})
