import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import { MAX_REMEMBERED, rememberDatasets, rememberedDatasets } from './index.ts'
import { testDatabases } from './testing.ts'

const spec = (name: string, classes = ['a', 'b']): DatasetSpec => ({
  name,
  description: '',
  tags: [],
  features: { kind: 'image', height: 32, width: 32, channels: 3 },
  classes,
  deviceLabelling: true,
})

const { open: fresh } = testDatabases('pollen-datasets-test')

describe('rememberDatasets', () => {
  it('keeps the latest offered first, then the ones offered before', async () => {
    const db = await fresh()
    expect(await rememberedDatasets(db)).toEqual([])
    await rememberDatasets(db, [spec('crops'), spec('parts')], 1)
    // The coordinator's latest word on `parts` replaces the old one; `crops` stays behind it.
    const now = await rememberDatasets(db, [spec('parts', ['ok', 'scratched', 'bent'])], 2)
    expect(now.map((s) => s.name)).toEqual(['parts', 'crops'])
    expect(await rememberedDatasets(db)).toEqual(now)
    expect(now[0]!.classes).toEqual(['ok', 'scratched', 'bent'])
    expect(await db.get('settings', 'datasets')).toMatchObject({ updatedAt: 2 })
  })

  it('forgets the oldest past the bound', async () => {
    const db = await fresh()
    const many = Array.from({ length: MAX_REMEMBERED }, (_, i) => spec(`d${i}`))
    await rememberDatasets(db, many)
    const now = await rememberDatasets(db, [spec('newest')])
    expect(now).toHaveLength(MAX_REMEMBERED)
    expect(now[0]!.name).toBe('newest')
    expect(now.at(-1)!.name).toBe(`d${MAX_REMEMBERED - 2}`)
  })
})
