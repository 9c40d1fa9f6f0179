import { describe, expect, it } from 'vitest'
import { decodeContainer, encodeContainer, type NamedTensor } from '../shared/tensors/index.ts'
import { seedOf, withErrorFeedback } from './compression-device.ts'

const tensor = (name: string, data: number[]): NamedTensor => ({
  name,
  shape: [data.length],
  dtype: 'float32',
  data: Float32Array.from(data),
})

describe("bench:compression's devices", () => {
  it('top-k error feedback: what was sent over the rounds plus what is held is every delta summed', () => {
    const feedback = withErrorFeedback()
    // 300 entries: top-k sends ⌈1%⌉ = 3 a round; the rest waits in the residual.
    const delta = (r: number) => [
      tensor(
        'w',
        Array.from({ length: 300 }, (_, k) => Math.sin(r + k)),
      ),
    ]
    const sent = new Float64Array(300)
    const total = new Float64Array(300)
    let last: NamedTensor[] = []
    for (let r = 0; r < 5; r++) {
      const d = delta(r)
      d[0]!.data.forEach((v, k) => (total[k]! += v))
      last = feedback(d)
      const wire = decodeContainer(encodeContainer({ tensors: last, codec: 'topk' })).tensors[0]!
      expect(wire.data.filter((v) => v !== 0)).toHaveLength(3)
      wire.data.forEach((v, k) => (sent[k]! += v))
    }
    // The residual still held: the last sum less what its upload carried.
    const wire = decodeContainer(encodeContainer({ tensors: last, codec: 'topk' })).tensors[0]!
    const held = last[0]!.data.map((v, k) => v - wire.data[k]!)
    for (let k = 0; k < 300; k++) expect(sent[k]! + held[k]!).toBeCloseTo(total[k]!, 4)
  })

  it('seeds differ across devices and rounds', () => {
    const seeds = new Set<number>()
    for (let d = 0; d < 50; d++) for (let n = 0; n < 50; n++) seeds.add(seedOf(d, n))
    expect(seeds.size).toBe(2500)
  })
})
