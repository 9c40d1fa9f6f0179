import { describe, expect, it } from 'vitest'
import { nested } from '../fuzz.ts'
import { describeIssues, TaskSpecSchema } from './index.ts'

const spec = { name: 'digits', purpose: 'read digits', model: { preset: 'mnist-2nn' } }
const issuesOf = (input: unknown) => {
  const parsed = TaskSpecSchema.safeParse(input)
  return parsed.success ? [] : describeIssues(parsed.error)
}

// Defects the fuzz suite (task-spec.fuzz.test.ts) found, each pinned by one case.
describe('task spec issues', () => {
  it('name the field inside a union’s object, not the union', () => {
    expect(issuesOf({ ...spec, secureAggregation: { threshold: 'most' } })).toEqual([
      {
        field: 'secureAggregation.threshold',
        message: 'Invalid input: expected number, received string',
      },
    ])
    expect(issuesOf({ ...spec, secureAggregation: { quorum: 1 } })).toEqual([
      { field: 'secureAggregation.quorum', message: 'unknown field' },
    ])
    expect(issuesOf({ ...spec, secureAggregation: 'yes' })).toEqual([
      {
        field: 'secureAggregation',
        message: 'Invalid input: expected boolean | null | object, received string',
      },
    ])
  })

  it('give an unknown key that is empty or dotted a name', () => {
    expect(issuesOf({ ...spec, '': 1, 'a.b': 2 })).toEqual([
      { field: '""', message: 'unknown field' },
      { field: '"a.b"', message: 'unknown field' },
    ])
  })

  it('refuse a custom topology nested deeper than the store can write back', () => {
    const deep = { ...spec, model: { preset: 'custom', topology: { extra: nested(5000) } } }
    expect(() => JSON.stringify(deep)).toThrow(RangeError)
    expect(issuesOf(deep)).toEqual([
      {
        field: 'model.topology',
        message: expect.stringMatching(/nests deeper than 100/) as string,
      },
    ])
    const shallow = { ...spec, model: { preset: 'custom', topology: { extra: nested(50) } } }
    expect(TaskSpecSchema.safeParse(shallow).success).toBe(true)
  })
})
