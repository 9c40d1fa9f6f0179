import { describe, expect, it } from 'vitest'
import { createFlattener } from './flatten.ts'
import { tensor, values } from './fixtures.ts'

const spec = [
  { name: 'a', shape: [2] },
  { name: 'b', shape: [1] },
]

describe('createFlattener', () => {
  it("lays an update out in the spec's order, whatever its own, and back", () => {
    const flat = createFlattener(spec)
    expect(flat.size).toBe(3)
    const vector = flat.flatten([tensor('b', [3]), tensor('a', [1, 2])])
    expect(Array.from(vector)).toEqual([1, 2, 3])
    const [a, b] = flat.unflatten(vector)
    expect([a?.name, values(a), a?.shape]).toEqual(['a', [1, 2], [2]])
    expect([b?.name, values(b), b?.shape]).toEqual(['b', [3], [1]])
  })

  it('copies, so the caller may reuse its buffers', () => {
    const a = tensor('a', [1, 2])
    const vector = createFlattener(spec).flatten([a, tensor('b', [3])])
    a.data[0] = 9
    expect(vector[0]).toBe(1)
  })

  it('refuses an update that does not fit the model', () => {
    const flat = createFlattener(spec)
    expect(() => flat.flatten([tensor('a', [1, 2])])).toThrow(/expected 2 tensors, got 1/)
    expect(() => flat.flatten([tensor('a', [1]), tensor('b', [3])])).toThrow(
      /tensor a does not match the model/,
    )
    expect(() => flat.flatten([tensor('a', [1, 2]), tensor('c', [3])])).toThrow(/tensor c/)
    expect(() => flat.flatten([tensor('b', [1]), tensor('b', [3])])).toThrow(/appears twice/)
    expect(() => flat.flatten([tensor('a', [1, NaN]), tensor('b', [3])])).toThrow(/NaN/)
    expect(() => flat.unflatten(new Float32Array(2))).toThrow(/expected 3 values/)
  })
})
