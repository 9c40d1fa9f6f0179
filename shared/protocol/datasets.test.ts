import { describe, expect, it } from 'vitest'
import { DatasetPatchSchema } from './datasets.ts'

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
