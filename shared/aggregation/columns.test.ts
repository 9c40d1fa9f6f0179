import { describe, expect, it } from 'vitest'
import { forEachColumn } from './columns.ts'

describe('forEachColumn', () => {
  it("hands over each coordinate's values, giving the event loop a turn between chunks", async () => {
    // Other work that wants a turn on every macrotask: the count it reached at each coordinate.
    let turns = 0
    let done = false
    const other = () => {
      turns += 1
      if (!done) setImmediate(other)
    }
    setImmediate(other)
    const vectors = [0, 1, 2].map((i) => Float32Array.from({ length: 10 }, (_, k) => 10 * k + i))
    const seen: { k: number; column: number[]; turns: number }[] = []
    // Six values a chunk: two coordinates of three reports.
    await forEachColumn(vectors, (column, k) => seen.push({ k, column: [...column], turns }), {
      chunkValues: 6,
    })
    done = true
    expect(seen.map((s) => s.k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(seen[4]!.column).toEqual([40, 41, 42])
    expect(seen.map((s) => s.turns)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
  })

  it('runs a small job in one go, and refuses vectors of different lengths', async () => {
    let turns = 0
    setImmediate(() => (turns += 1))
    const seen: number[] = []
    await forEachColumn([new Float32Array(100), new Float32Array(100)], () => seen.push(turns))
    expect(seen).toEqual(Array.from({ length: 100 }, () => 0))
    await expect(
      forEachColumn([new Float32Array(2), new Float32Array(1)], () => {}),
    ).rejects.toThrow(/differ in length/)
  })
})
