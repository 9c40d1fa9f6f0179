import { beforeAll, describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/index.ts'
import { tf, useBackend } from '../tf/index.ts'
import { liveData, relativeError, TOLERANCE } from './conv-cases.ts'
import { isPollenWasmKernel } from './index.ts'

/** One product: a and b as stored (already transposed where the flags say so). */
interface Product {
  name: string
  aShape: number[]
  bShape: number[]
  transposeA: boolean
  transposeB: boolean
  a: Float32Array
  b: Float32Array
}

function makeProduct(seed: number, transposeA: boolean, transposeB: boolean): Product {
  const random = mulberry32(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const [m, k, n] = [int(1, 40), int(1, 40), int(1, 40)]
  // Batched half the time, with one side broadcast now and then.
  const batch = random() < 0.5 ? [] : [int(2, 3)]
  const aBatch = batch.length > 0 && random() < 0.25 ? [1] : batch
  const aShape = [...aBatch, ...(transposeA ? [k, m] : [m, k])]
  const bShape = [...batch, ...(transposeB ? [n, k] : [k, n])]
  const values = (shape: number[]) =>
    Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() * 2 - 1)
  return {
    name: `[${aShape.join(',')}]${transposeA ? 'ᵀ' : ''} · [${bShape.join(',')}]${transposeB ? 'ᵀ' : ''}`,
    aShape,
    bShape,
    transposeA,
    transposeB,
    a: values(aShape),
    b: values(bShape),
  }
}

const PRODUCTS: Product[] = [false, true].flatMap((transposeA) =>
  [false, true].flatMap((transposeB) =>
    Array.from({ length: 6 }, (_, i) =>
      makeProduct(300 + i * 4 + +transposeA * 2 + +transposeB, transposeA, transposeB),
    ),
  ),
)

/** The product in float64, reading the operands through their flags. */
function reference(p: Product): Float64Array {
  const [k, m] = p.transposeA ? p.aShape.slice(-2) : p.aShape.slice(-2).reverse()
  const n = p.transposeB ? p.bShape.at(-2)! : p.bShape.at(-1)!
  const batches = Math.max(
    p.aShape.length > 2 ? p.aShape[0]! : 1,
    p.bShape.length > 2 ? p.bShape[0]! : 1,
  )
  const aBatches = p.aShape.length > 2 ? p.aShape[0]! : 1
  const out = new Float64Array(batches * m! * n)
  for (let t = 0; t < batches; t++) {
    const aOff = (aBatches === 1 ? 0 : t) * m! * k!
    const bOff = t * k! * n
    for (let i = 0; i < m!; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0
        for (let l = 0; l < k!; l++) {
          const av = p.transposeA ? p.a[aOff + l * m! + i]! : p.a[aOff + i * k! + l]!
          const bv = p.transposeB ? p.b[bOff + j * k! + l]! : p.b[bOff + l * n + j]!
          sum += av * bv
        }
        out[(t * m! + i) * n + j] = sum
      }
  }
  return out
}

const product = (p: Product): tf.Tensor =>
  tf.tidy(() =>
    tf.matMul(tf.tensor(p.a, p.aShape), tf.tensor(p.b, p.bShape), p.transposeA, p.transposeB),
  )

describe("Pollen's wasm BatchMatMul", () => {
  beforeAll(async () => {
    await useBackend('wasm')
  })

  it("replaces TF.js's kernel once useBackend has run", () => {
    expect(isPollenWasmKernel('BatchMatMul')).toBe(true)
  })

  it.each(PRODUCTS.map((p) => [p.name, p] as const))('%s', (_, p) => {
    const out = product(p)
    expect(out.shape).toEqual([
      ...(p.aShape.length > 2 || p.bShape.length > 2
        ? [Math.max(p.aShape.length > 2 ? p.aShape[0]! : 1, p.bShape[0]!)]
        : []),
      p.transposeA ? p.aShape.at(-1) : p.aShape.at(-2),
      p.transposeB ? p.bShape.at(-2) : p.bShape.at(-1),
    ])
    expect(relativeError(out.dataSync(), reference(p))).toBeLessThan(TOLERANCE)
    out.dispose()
  })

  it('gives the dense layer gradients the cpu backend gives', async () => {
    const random = mulberry32(9)
    const x = Float32Array.from({ length: 16 * 50 }, () => random() - 0.5)
    const w = Float32Array.from({ length: 50 * 30 }, () => random() - 0.5)
    const gradients = () =>
      tf.tidy(() => {
        const f = (xs: tf.Tensor, ws: tf.Tensor) => tf.sum(tf.square(tf.matMul(xs, ws)))
        return tf
          .grads(f)([tf.tensor2d(x, [16, 50]), tf.tensor2d(w, [50, 30])])
          .map((g) => g.dataSync())
      })
    await useBackend('cpu')
    const onCpu = gradients()
    await useBackend('wasm')
    const onWasm = gradients()
    for (const i of [0, 1]) expect(relativeError(onWasm[i]!, onCpu[i]!)).toBeLessThan(TOLERANCE)
  })

  it('leaves no tensor and no wasm buffer behind', () => {
    for (const p of PRODUCTS) product(p).dispose()
    const before = liveData()
    for (let round = 0; round < 3; round++) for (const p of PRODUCTS) product(p).dispose()
    expect(liveData()).toEqual(before)
  })
})
