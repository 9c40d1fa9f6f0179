import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { coordinateMedian } from './median.ts'
import { trimmedMean } from './trimmed-mean.ts'

// The median and the trimmed mean select instead of sorting each column; these references sort
// it whole, as they did before, and the results must agree bit for bit.

function sortedColumns(vectors: Float32Array[], use: (sorted: Float64Array, k: number) => void) {
  const column = new Float64Array(vectors.length)
  for (let k = 0; k < vectors[0]!.length; k++) {
    vectors.forEach((v, i) => (column[i] = v[k]!))
    use(column.sort(), k)
  }
}

function medianBySort(vectors: Float32Array[]): Float32Array {
  const n = vectors.length
  const half = n >> 1
  const out = new Float32Array(vectors[0]!.length)
  sortedColumns(vectors, (s, k) => {
    out[k] = n % 2 === 1 ? s[half]! : (s[half - 1]! + s[half]!) / 2
  })
  return out
}

function trimmedMeanBySort(vectors: Float32Array[], trim: number): Float32Array {
  const n = vectors.length
  const cut = Math.floor(trim * n)
  const out = new Float32Array(vectors[0]!.length)
  sortedColumns(vectors, (s, k) => {
    let sum = 0
    for (let i = cut; i < n - cut; i++) sum += s[i]!
    out[k] = sum / (n - 2 * cut)
  })
  return out
}

/**
 * n reports of d values spread over 60 binary orders of magnitude with both signs, and ties of
 * large values of either sign that cancel, so that the order of a float64 sum of them changes its
 * float32 result (no −0: its sign is not a value).
 */
function reports(n: number, d: number, seed: number): Float32Array[] {
  const random = mulberry32(seed)
  const magnitude = () => (0.5 + random()) * 2 ** Math.floor(random() * 60 - 30)
  const large = Array.from({ length: 3 }, () => Math.fround((1 + random()) * 2 ** 30))
  const pool = [...large, ...large.map((x) => -x)]
  return Array.from({ length: n }, () =>
    Float32Array.from({ length: d }, () => {
      if (random() < 0.3) return pool[Math.floor(random() * pool.length)]!
      return (random() < 0.5 ? -1 : 1) * magnitude()
    }),
  )
}

const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length))

describe('the median and the trimmed mean by selection', () => {
  it('equal the full sort bit for bit, for few reports and many', async () => {
    for (const n of [1, 2, 3, 4, 5, 10, 15, 16, 17, 30, 31, 33, 64, 101]) {
      const vectors = reports(n, 300, n)
      expect(bits(await coordinateMedian(vectors))).toEqual(bits(medianBySort(vectors)))
      for (const trim of [0.1, 0.2, 0.25, 0.34, 0.49]) {
        const got = await trimmedMean(vectors, trim, { chunkValues: 1000 })
        expect(bits(got), `n ${n}, trim ${trim}`).toEqual(bits(trimmedMeanBySort(vectors, trim)))
      }
    }
  })
})
