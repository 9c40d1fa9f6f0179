import { describe, expect, it } from 'vitest'
import { type Examples, PIXELS_PER_EXAMPLE } from '../../../shared/data/index.ts'
import { addExamples, INDEXES, labelCounts, replaceExamples, STORES } from './index.ts'
import { testDatabases } from './testing.ts'

const examples = (labels: number[]): Examples => ({
  count: labels.length,
  pixels: new Uint8Array(labels.length * PIXELS_PER_EXAMPLE).fill(9),
  labels: Uint8Array.from(labels),
})

const { open: fresh } = testDatabases('pollen-add-test')

describe('addExamples', () => {
  it('adds beside what is stored, keeping the demo digits and earlier drawings', async () => {
    const db = await fresh()
    await replaceExamples(db, { dataset: 'mnist', source: 'demo', examples: examples([1, 2]) })
    await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([7]), now: 5 })
    expect(
      await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([7, 3]) }),
    ).toBe(2)
    await addExamples(db, { dataset: 'mnist', source: 'imported', examples: examples([0]) })
    expect(await labelCounts(db, 'mnist')).toEqual([1, 1, 1, 1, 0, 0, 0, 2, 0, 0])
    const drawn = await db.getAllFromIndex(
      STORES.examples,
      INDEXES.byDatasetSource,
      IDBKeyRange.only(['mnist', 'drawn']),
    )
    expect(drawn.map((r) => r.label)).toEqual([7, 7, 3])
    expect(drawn[0]).toMatchObject({ dataset: 'mnist', source: 'drawn', addedAt: 5 })
    expect(drawn[0]!.pixels).toHaveLength(PIXELS_PER_EXAMPLE)
  })

  it('stores none of a batch when one write fails', async () => {
    const db = await fresh()
    await addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([4]) })
    const batch = examples([5, 6, 8])
    let slices = 0
    const slice = batch.pixels.slice.bind(batch.pixels)
    batch.pixels.slice = (start?: number, end?: number) => {
      if (++slices === 3) throw new Error('out of memory')
      return slice(start, end)
    }
    await expect(
      addExamples(db, { dataset: 'mnist', source: 'imported', examples: batch }),
    ).rejects.toThrow('out of memory')
    expect(await labelCounts(db, 'mnist')).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
  })

  it('refuses a label outside 0..9 before touching the store', async () => {
    const db = await fresh()
    await expect(
      addExamples(db, { dataset: 'mnist', source: 'drawn', examples: examples([10]) }),
    ).rejects.toThrow(RangeError)
    expect(await db.count(STORES.examples)).toBe(0)
  })
})
