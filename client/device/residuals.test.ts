import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../shared/protocol/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import { keptResidual, memoryResiduals, usableResidual } from './residuals.ts'

const tensor = (name: string, n: number, value = 1): NamedTensor => ({
  name,
  shape: [n],
  dtype: 'float32',
  data: new Float32Array(n).fill(value),
})
const at = (round: number) => ({ taskId: 't', round }) as Assignment
const update = [tensor('w', 4), tensor('b', 2)]
const made = (round: number) =>
  keptResidual(at(round), update, [new Float32Array(4).fill(0.5), new Float32Array(2)])

describe('a kept residual', () => {
  it('is named and shaped as the update’s tensors, with the round it was made in', () => {
    const kept = made(3)
    expect(kept.round).toBe(3)
    expect(kept.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['w', [4]],
      ['b', [2]],
    ])
    expect(kept.tensors[0]!.data[0]).toBe(0.5)
  })

  it('is added from the next round up to 10 rounds behind, then dropped', () => {
    expect(usableResidual(undefined, at(4), update)).toBeNull()
    expect(usableResidual(made(3), at(4), update)?.[0]?.[0]).toBe(0.5)
    expect(usableResidual(made(3), at(13), update)).not.toBeNull()
    expect(usableResidual(made(3), at(14), update)).toBeNull()
  })

  it('is not added in its own round, a round before it, or to an update of another shape', () => {
    expect(usableResidual(made(3), at(3), update)).toBeNull()
    expect(usableResidual(made(3), at(1), update)).toBeNull()
    expect(usableResidual(made(3), at(4), [tensor('w', 4)])).toBeNull()
    expect(usableResidual(made(3), at(4), [tensor('w', 4), tensor('c', 2)])).toBeNull()
    expect(usableResidual(made(3), at(4), [tensor('w', 5), tensor('b', 2)])).toBeNull()
  })

  it('is kept in memory per task by a simulated device, the latest replacing the last', async () => {
    const store = memoryResiduals()
    await store.put('a', made(1))
    await store.put('a', made(2))
    await store.put('b', made(5))
    expect((await store.get('a'))?.round).toBe(2)
    expect((await store.get('b'))?.round).toBe(5)
    expect(await store.get('c')).toBeUndefined()
  })
})
