import { describe, expect, it } from 'vitest'
import { DatasetPatchSchema, DatasetSpecSchema } from './datasets.ts'
import { describeIssues } from './errors.ts'

describe('DatasetPatchSchema', () => {
  it('leaves out what the PATCH leaves out: no default wipes the words it did not name', () => {
    expect(DatasetPatchSchema.parse({ deviceLabelling: false })).toEqual({ deviceLabelling: false })
    expect(DatasetPatchSchema.parse({ tags: [' a '] })).toEqual({ tags: ['a'] })
  })

  it('refuses an empty PATCH and the fixed fields', () => {
    expect(DatasetPatchSchema.safeParse({}).success).toBe(false)
    expect(DatasetPatchSchema.safeParse({ classes: ['a', 'b'] }).success).toBe(false)
  })
})

describe('DatasetSpecSchema', () => {
  const issues = (body: unknown) => {
    const parsed = DatasetSpecSchema.safeParse(body)
    return parsed.success ? [] : describeIssues(parsed.error)
  }

  it('says what channels may be in its own words, not as the alternatives of a union', () => {
    const image = { kind: 'image', height: 28, width: 28, channels: 2 }
    expect(issues({ name: 'x', features: image, classes: ['a', 'b'] })).toEqual([
      { field: 'features.channels', message: 'must be 1 (grayscale) or 3 (RGB)' },
    ])
  })

  it('refuses a feature column named "label", the class column of every CSV', () => {
    const tabular = { kind: 'tabular', columns: [{ name: 'age' }, { name: 'label' }] }
    expect(issues({ name: 'x', features: tabular, classes: ['a', 'b'] })).toEqual([
      {
        field: 'features.columns',
        message: '"label" names the class column of a CSV; give this feature column another name',
      },
    ])
  })
})
