import { beforeAll, describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/index.ts'
import { tf, useBackend } from '../tf/index.ts'
import { liveData, relativeError, type Shape4D, TOLERANCE } from './conv-cases.ts'
import { isPollenWasmKernel } from './index.ts'

/** One max-pool problem; `values` draws x (ties and odd values for some cases). */
interface Pool {
  name: string
  shape: Shape4D
  filter: [number, number]
  strides: [number, number]
  pad: 'valid' | 'same'
  x: Float32Array
}

function makePool(
  seed: number,
  values: (random: () => number) => number,
  label = '',
  fixed: Partial<Pick<Pool, 'shape' | 'filter' | 'strides' | 'pad'>> = {},
): Pool {
  const random = mulberry32(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const shape: Shape4D = fixed.shape ?? [int(1, 3), int(2, 11), int(2, 11), int(1, 6)]
  const filter: [number, number] = fixed.filter ?? [int(1, 4), int(1, 4)]
  const strides: [number, number] = fixed.strides ?? [int(1, 3), int(1, 3)]
  // Layers pool with 'valid' or 'same' only. (TF.js 4.22's own wasm MaxPool corrupts its heap on
  // some explicit paddings, e.g. pad 1 with a [2, 4] window and strides [3, 1]: not ours to test.)
  const pad = fixed.pad ?? (random() < 0.5 ? 'valid' : 'same')
  const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => values(random))
  const name =
    `x [${shape.join(',')}] filter [${filter.join(',')}] strides [${strides.join(',')}] ` +
    `pad ${pad}${label}`
  return { name, shape, filter, strides, pad, x }
}

const POOLS: Pool[] = [
  ...Array.from({ length: 20 }, (_, i) => makePool(400 + i, (r) => r() * 2 - 1)),
  // After a ReLU most of a window is zero: ties everywhere.
  ...Array.from({ length: 6 }, (_, i) =>
    makePool(500 + i, (r) => Math.max(0, r() * 2 - 1.5), ', ReLU ties'),
  ),
  // −∞ and NaN pass nothing on where they are the whole window.
  ...Array.from({ length: 4 }, (_, i) =>
    makePool(600 + i, (r) => [-Infinity, NaN, 0.5, r()][Math.floor(r() * 4)]!, ', −∞ and NaN'),
  ),
  // synet's own pool, once.
  makePool(7, (r) => Math.max(0, r() - 0.5), ', as synet pools', {
    shape: [4, 24, 24, 64],
    filter: [2, 2],
    strides: [2, 2],
    pad: 'valid',
  }),
]

const dyFor = (shape: number[]): Float32Array => {
  const random = mulberry32(shape.reduce((a, b) => a * 31 + b, 17))
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1)
}

/** d(Σ maxPool(x) · dy)/dx on the active backend, as TF.js's tf.grad computes it. */
function poolGradient(p: Pool): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(p.x, p.shape)
    const pool = (v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, p.filter, p.strides, p.pad)
    const dy = tf.tensor(dyFor(pool(x).shape), pool(x).shape)
    return tf
      .grad((v) => tf.sum(tf.mul(pool(v), dy)))(x)
      .dataSync() as Float32Array
  })
}

describe("Pollen's wasm MaxPoolGrad", () => {
  let onCpu: Float32Array[]

  beforeAll(async () => {
    await useBackend('cpu')
    onCpu = POOLS.map(poolGradient)
    await useBackend('wasm')
  })

  it("replaces TF.js's kernel once useBackend has run", () => {
    expect(isPollenWasmKernel('MaxPoolGrad')).toBe(true)
  })

  it.each(POOLS.map((p, i) => [p.name, i] as const))(
    'routes each gradient to the window maximum the cpu backend picks: %s',
    (_, i) => {
      const onWasm = poolGradient(POOLS[i]!)
      expect(onWasm.every(Number.isFinite)).toBe(true)
      expect(relativeError(onWasm, onCpu[i]!)).toBeLessThan(TOLERANCE)
    },
  )

  it('leaves no tensor and no wasm buffer behind', () => {
    for (const p of POOLS) poolGradient(p)
    const before = liveData()
    for (let round = 0; round < 3; round++) for (const p of POOLS) poolGradient(p)
    expect(liveData()).toEqual(before)
  })
})
