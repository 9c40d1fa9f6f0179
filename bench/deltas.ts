// Right-shaped deltas for the benchmarks that upload without training (bench:server, bench:scale).
import { tensorSize, type NamedTensor } from '../shared/tensors/index.ts'

/** Small deterministic deltas of the model's shapes (xorshift32 from `seed`), as local training makes. */
export function randomDeltas(
  layout: readonly { name: string; shape: number[] }[],
  seed: number,
): NamedTensor[] {
  let state = (seed * 2654435761) >>> 0 || 1
  const random = () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 2 ** 32
  }
  return layout.map(({ name, shape }) => {
    const data = new Float32Array(tensorSize(shape))
    for (let i = 0; i < data.length; i++) data[i] = (random() - 0.5) * 0.02
    return { name, shape: [...shape], dtype: 'float32' as const, data }
  })
}
