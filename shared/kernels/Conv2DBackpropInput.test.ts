import { beforeAll, describe, expect, it } from 'vitest'
import { tf, useBackend } from '../tf/index.ts'
import {
  BACKENDS,
  CASES,
  type Case,
  conv,
  convGradient,
  DILATED_CASES,
  dyFor,
  kernelGradient,
  liveData,
  makeCase,
  outAndPad,
  relativeError,
  TOLERANCE,
} from './conv-cases.ts'
import { isPollenWasmKernel } from './index.ts'

/** dX[b, y·s + i·d − pad, x·s + j·d − pad, ci] += dy[b, y, x, co] · W[i, j, ci, co], in float64. */
function reference(c: Case, dy: Float32Array): Float64Array {
  const [batch, height, width, inC] = c.xShape
  const [fh, fw, , outC] = c.filterShape
  const [oh, top] = outAndPad(c, 0)
  const [ow, left] = outAndPad(c, 1)
  const dx = new Float64Array(batch * height * width * inC)
  for (let b = 0; b < batch; b++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        for (let i = 0; i < fh; i++) {
          const row = y * c.strides[0] + i * c.dilations[0] - top
          if (row < 0 || row >= height) continue
          for (let j = 0; j < fw; j++) {
            const col = x * c.strides[1] + j * c.dilations[1] - left
            if (col < 0 || col >= width) continue
            for (let ci = 0; ci < inC; ci++)
              for (let co = 0; co < outC; co++) {
                const dv = dy[((b * oh + y) * ow + x) * outC + co]!
                const wv = c.filter[((i * fw + j) * inC + ci) * outC + co]!
                dx[((b * height + row) * width + col) * inC + ci]! += dv * wv
              }
          }
        }
  return dx
}

describe.each(BACKENDS)('the conv2d input gradient on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend)
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { dy, grad } = convGradient(c, 'x')
    expect(relativeError(grad, reference(c, dy))).toBeLessThan(TOLERANCE)
  })
})

describe("Pollen's wasm Conv2DBackpropInput", () => {
  beforeAll(async () => {
    await useBackend('wasm')
  })

  it("replaces TF.js's kernel once useBackend has run", () => {
    expect(isPollenWasmKernel('Conv2DBackpropInput')).toBe(true)
  })

  it('agrees with the cpu backend on every case', async () => {
    await useBackend('cpu')
    const onCpu = CASES.map((c) => convGradient(c, 'x').grad)
    await useBackend('wasm')
    for (const [i, c] of CASES.entries()) {
      expect(relativeError(convGradient(c, 'x').grad, onCpu[i]!), c.name).toBeLessThan(TOLERANCE)
    }
  })

  it.each(DILATED_CASES.map((c) => [c.name, c] as const))('honours %s', (_, c) => {
    const x = tf.tensor4d(c.x, c.xShape)
    const dyShape = tf.tidy(() => conv(c, x, tf.tensor4d(c.filter, c.filterShape)).shape)
    x.dispose()
    const grad = kernelGradient(c, 'x', dyShape)
    expect(relativeError(grad, reference(c, dyFor(c, dyShape)))).toBeLessThan(TOLERANCE)
  })

  it("hands padding beyond the filter's reach to TF.js's kernel, and still gets it right", () => {
    // Top padding 4 with a 2-row filter: the turned convolution would need padding −3.
    const c = makeCase(6, {
      xShape: [2, 7, 6, 3],
      filterShape: [2, 2, 3, 2],
      strides: [1, 2],
      pad: [
        [0, 0],
        [4, 1],
        [1, 0],
        [0, 0],
      ],
    })
    const { dy, grad } = convGradient(c, 'x')
    expect(relativeError(grad, reference(c, dy))).toBeLessThan(TOLERANCE)
  })

  it('refuses dilations with padding beyond the reach, which neither formulation covers', () => {
    const c = makeCase(7, {
      xShape: [1, 9, 9, 1],
      filterShape: [2, 2, 1, 1],
      strides: [1, 1],
      dilations: [2, 2],
      pad: [
        [0, 0],
        [3, 0],
        [3, 0],
        [0, 0],
      ],
    })
    expect(() => kernelGradient(c, 'x', [1, 9, 9, 1])).toThrow(/dilations \[2, 2\] with padding/)
  })

  it('leaves no tensor and no wasm buffer behind', () => {
    const cases = CASES.filter((c) => c.strides.some((s) => s > 1)).slice(0, 8)
    for (const c of cases) convGradient(c, 'x')
    const before = liveData()
    for (let round = 0; round < 3; round++) for (const c of cases) convGradient(c, 'x')
    expect(liveData()).toEqual(before)
  })
})
