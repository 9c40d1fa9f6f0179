import { describe, expect, it } from 'vitest'
import { bbitByteLength, int8Bytes } from '../codecs/index.ts'
import { mulberry32 } from '../data/random.ts'
import {
  CODECS,
  ContainerError,
  decodeContainer,
  decodeContainerHeader,
  encodeContainer,
  encodeContainerWithResidual,
  type NamedTensor,
} from './index.ts'

// The container's compressed codecs: what each header carries, each round trip within its codec's
// bound, and every disagreement between header and frames refused naming the part.

const random = mulberry32(7)
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
const tensor = (name: string, shape: number[], scale = 0.01): NamedTensor => ({
  name,
  shape,
  dtype: 'float32',
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gaussian() * scale),
})
const update = [tensor('dense/kernel', [40, 30]), tensor('dense/bias', [30]), tensor('empty', [0])]

const refusal = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    if (e instanceof ContainerError) return { code: e.code, part: e.part, message: e.message }
    throw e
  }
  throw new Error('did not throw')
}

/** The header as JSON and the payload of `bytes`, to edit one and write both back. */
function parts(bytes: Uint8Array) {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)
  const header: unknown = JSON.parse(
    new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)),
  )
  const payload = bytes.slice(decodeContainerHeader(bytes).payloadStart)
  return { header: header as Record<string, unknown>, payload }
}
function rebuild(header: unknown, payload: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header))
  const start = 12 + h.length + ((4 - (h.length % 4)) % 4)
  const bytes = new Uint8Array(start + payload.length)
  bytes.set(new TextEncoder().encode('PLNT'))
  new DataView(bytes.buffer).setUint32(4, 1, true)
  new DataView(bytes.buffer).setUint32(8, h.length, true)
  bytes.set(h, 12)
  bytes.set(payload, start)
  return bytes
}

const squaredError = (a: Float32Array, b: Float32Array) =>
  a.reduce((sum, v, i) => sum + (v - b[i]!) ** 2, 0)
const squaredNorm = (a: Float32Array) => a.reduce((sum, v) => sum + v * v, 0)

describe('the container under each codec', () => {
  it('lists every codec the coordinator may accept', () => {
    expect(CODECS.join(' ')).toBe('float32 float16 int8 bbit1 bbit2 bbit3 bbit4 topk')
  })

  it('writes a float32 container as it always did: codec, tensors, metadata and nothing more', () => {
    const bytes = encodeContainer({
      tensors: update,
      metadata: { examples: 3 },
      seed: 5,
      keep: 0.5,
    })
    const { header, payload } = parts(bytes)
    expect(JSON.stringify(header)).toBe(
      '{"codec":"float32","tensors":[{"name":"dense/kernel","shape":[40,30],"dtype":"float32"},' +
        '{"name":"dense/bias","shape":[30],"dtype":"float32"},' +
        '{"name":"empty","shape":[0],"dtype":"float32"}],"metadata":{"examples":3}}',
    )
    expect(payload.length).toBe(4 * 1230)
    expect(new Float32Array(payload.buffer, payload.byteOffset, 1200)).toEqual(update[0]!.data)
  })

  it('round-trips float16 within 2⁻¹¹ relative, 2 bytes an entry', () => {
    const bytes = encodeContainer({ tensors: update, codec: 'float16' })
    expect(parts(bytes).payload.length).toBe(2 * 1230)
    const back = decodeContainer(bytes)
    expect(back.codec).toBe('float16')
    back.tensors.forEach((t, i) =>
      t.data.forEach((v, j) => {
        const x = update[i]!.data[j]!
        expect(Math.abs(v - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25)
      }),
    )
  })

  it('refuses to write what its codec cannot carry: a half past 65504, a NaN', () => {
    const big = [{ ...update[1]!, data: update[1]!.data.map((v, i) => (i === 2 ? 70000 : v)) }]
    expect(refusal(() => encodeContainer({ tensors: big, codec: 'float16' }))).toMatchObject({
      code: 'bad-payload',
      message: expect.stringContaining('dense/bias[2]') as unknown,
    })
    const nan = [{ ...update[1]!, data: update[1]!.data.map(() => NaN) }]
    for (const codec of ['int8', 'bbit1', 'topk'] as const)
      expect(refusal(() => encodeContainer({ tensors: nan, codec })).code).toBe('bad-payload')
  })

  it('round-trips int8 within one step a block, with its block size in the header and not its seed', () => {
    const bytes = encodeContainer({ tensors: update, codec: 'int8', seed: 3, blockSize: 64 })
    const { header, payload } = parts(bytes)
    expect(header).toMatchObject({ codec: 'int8', blockSize: 64 })
    expect(header).not.toHaveProperty('seed')
    expect(payload.length).toBe(int8Bytes(1200, 64) + int8Bytes(30, 64))
    const back = decodeContainer(bytes)
    back.tensors.forEach((t, i) => {
      const x = update[i]!.data
      t.data.forEach((v, j) => {
        const block = x.subarray(j - (j % 64), j - (j % 64) + 64)
        const step = Math.max(0, ...Array.from(block, Math.abs)) / 127
        expect(Math.abs(v - x[j]!)).toBeLessThanOrEqual(step * (1 + 1e-6))
      })
    })
  })

  it('encodes b-bit as one frame over every tensor, its seed in the header, within its error', () => {
    for (const [bits, bound] of [
      [1, 0.7],
      [4, 0.015],
    ] as const) {
      const codec = `bbit${bits}` as const
      const bytes = encodeContainer({ tensors: update, codec, seed: 11 })
      const { header, payload } = parts(bytes)
      expect(header).toMatchObject({ codec, seed: 11 })
      expect(payload.length).toBe(bbitByteLength(1230, bits))
      const back = decodeContainer(bytes).tensors
      expect(back.map((t) => [t.name, t.shape])).toEqual(update.map((t) => [t.name, t.shape]))
      const error = back.reduce((sum, t, i) => sum + squaredError(t.data, update[i]!.data), 0)
      const norm = update.reduce((sum, t) => sum + squaredNorm(t.data), 0)
      expect(error / norm).toBeLessThan(bound)
      // The seed is needed to decode: another rotation gives another vector.
      const other = decodeContainer(rebuild({ ...header, seed: 12 }, payload)).tensors
      expect(other[0]!.data).not.toEqual(back[0]!.data)
    }
  })

  it('encodes top-k as the k largest of each tensor, k per tensor in the header', () => {
    const bytes = encodeContainer({ tensors: update, codec: 'topk', keep: 0.1 })
    const { header, payload } = parts(bytes)
    expect((header.tensors as { k: number }[]).map((t) => t.k)).toEqual([120, 3, 0])
    expect(payload.length).toBe(8 * 123)
    const back = decodeContainer(bytes).tensors[0]!.data
    const kept = back.filter((v) => v !== 0)
    expect(kept.length).toBe(120)
    const threshold = Math.min(...Array.from(kept, Math.abs))
    back.forEach((v, j) => {
      const x = update[0]!.data[j]!
      expect(v === 0 ? Math.abs(x) <= threshold : v === x).toBe(true)
    })
  })

  it('refuses a header missing what its codec needs, naming the field', () => {
    const int8 = parts(encodeContainer({ tensors: update, codec: 'int8', seed: 1 }))
    const { blockSize: _, ...noBlockSize } = int8.header
    expect(refusal(() => decodeContainer(rebuild(noBlockSize, int8.payload)))).toMatchObject({
      code: 'bad-header',
      part: 'blockSize',
    })
    const bbit = parts(encodeContainer({ tensors: update, codec: 'bbit2', seed: 1 }))
    expect(
      refusal(() => decodeContainer(rebuild({ ...bbit.header, seed: 2 ** 32 }, bbit.payload))),
    ).toMatchObject({ code: 'bad-header', part: 'seed' })
    const topk = parts(encodeContainer({ tensors: update, codec: 'topk' }))
    const tensors = topk.header.tensors as Record<string, unknown>[]
    const tooMany = tensors.map((t, i) => (i === 1 ? { ...t, k: 31 } : t))
    expect(
      refusal(() => decodeContainer(rebuild({ ...topk.header, tensors: tooMany }, topk.payload))),
    ).toMatchObject({ code: 'bad-header', part: 'tensors[1].k' })
  })

  it('refuses frames whose lengths disagree with the header', () => {
    const int8 = parts(encodeContainer({ tensors: update, codec: 'int8', seed: 1 }))
    const bigger = (int8.header.tensors as Record<string, unknown>[]).map((t, i) =>
      i === 1 ? { ...t, shape: [31] } : t,
    )
    expect(
      refusal(() => decodeContainer(rebuild({ ...int8.header, tensors: bigger }, int8.payload))),
    ).toMatchObject({ code: 'truncated', part: 'tensors[1]' })
    expect(
      refusal(() => decodeContainer(rebuild(int8.header, int8.payload.subarray(0, 1000)))),
    ).toMatchObject({ code: 'truncated', part: 'tensors[0]' })
    const extra = new Uint8Array(int8.payload.length + 3)
    extra.set(int8.payload)
    expect(refusal(() => decodeContainer(rebuild(int8.header, extra)))).toMatchObject({
      code: 'size-mismatch',
      part: 'payload',
    })
    const bbit = parts(encodeContainer({ tensors: update, codec: 'bbit1', seed: 1 }))
    expect(
      refusal(() => decodeContainer(rebuild(bbit.header, bbit.payload.subarray(1)))),
    ).toMatchObject({ code: 'truncated', part: 'payload' })
  })

  it('refuses a frame that decodes to NaN or Infinity, naming the tensor', () => {
    // int8: a scale of Infinity, then a finite scale that overflows float32 once multiplied.
    const int8 = parts(encodeContainer({ tensors: update, codec: 'int8', seed: 1 }))
    const scales = new DataView(int8.payload.buffer)
    const bad = int8.payload.slice()
    new DataView(bad.buffer).setFloat32(0, Infinity, true)
    expect(refusal(() => decodeContainer(rebuild(int8.header, bad)))).toMatchObject({
      code: 'bad-payload',
      part: 'tensors[0]',
      message: expect.stringContaining('scales.0') as unknown,
    })
    scales.setFloat32(0, 3e38, true)
    int8.payload[4 * 5] = 127 // the first entry of tensor 0, after its 5 scales
    expect(refusal(() => decodeContainer(rebuild(int8.header, int8.payload)))).toMatchObject({
      code: 'bad-payload',
      part: 'tensors[0]',
      message: 'tensors[0]: dense/kernel: entry 0 decodes to Infinity',
    })
    // float16: a half of all ones in the exponent is Infinity or NaN.
    const half = parts(encodeContainer({ tensors: update, codec: 'float16' }))
    half.payload.set([0xff, 0x7f], 2 * 1200 + 2 * 4) // dense/bias[4] = NaN
    expect(refusal(() => decodeContainer(rebuild(half.header, half.payload)))).toMatchObject({
      code: 'bad-payload',
      part: 'tensors[1]',
      message: expect.stringContaining('entry 4 decodes to NaN') as unknown,
    })
    // top-k: a kept value of Infinity; b-bit: a block's scale of Infinity.
    const topk = parts(encodeContainer({ tensors: update, codec: 'topk' }))
    new DataView(topk.payload.buffer).setFloat32(8 * 12 + 4, -Infinity, true) // tensor 1 keeps k = 1
    expect(refusal(() => decodeContainer(rebuild(topk.header, topk.payload)))).toMatchObject({
      code: 'bad-payload',
      part: 'tensors[1]',
    })
    const bbit = parts(encodeContainer({ tensors: update, codec: 'bbit3', seed: 1 }))
    new DataView(bbit.payload.buffer).setFloat32(0, Infinity, true)
    expect(refusal(() => decodeContainer(rebuild(bbit.header, bbit.payload)))).toMatchObject({
      code: 'bad-payload',
      part: 'payload',
    })
  })
})

describe('top-k’s error feedback through the container', () => {
  it('adds the residual in before picking, and gives back what it kept back', () => {
    const delta = [tensor('w', [50]), tensor('b', [10])]
    const first = encodeContainerWithResidual({ tensors: delta, codec: 'topk', keep: 0.2 })
    expect(first.residual).toHaveLength(2)
    const sent = decodeContainer(first.bytes).tensors
    // What went plus what was kept back is the delta, entry by entry.
    delta.forEach((t, i) =>
      t.data.forEach((v, j) => expect(sent[i]!.data[j]! + first.residual![i]![j]!).toBe(v)),
    )
    const second = encodeContainerWithResidual({
      tensors: delta,
      codec: 'topk',
      keep: 0.2,
      residual: first.residual!,
    })
    const again = decodeContainer(second.bytes).tensors
    delta.forEach((t, i) =>
      t.data.forEach((v, j) =>
        expect(again[i]!.data[j]! + second.residual![i]![j]!).toBeCloseTo(
          v + first.residual![i]![j]!,
          6,
        ),
      ),
    )
  })

  it('refuses a residual that does not match the update, naming it', () => {
    const delta = [tensor('w', [50])]
    const short = [new Float32Array(49)]
    for (const residual of [short, [short[0]!, short[0]!]]) {
      const refused = refusal(() => encodeContainer({ tensors: delta, codec: 'topk', residual }))
      expect(refused.code).toBe('bad-payload')
      expect(refused.message).toMatch(/^residual/)
    }
  })

  it('gives no residual for the other codecs', () => {
    expect(encodeContainerWithResidual({ tensors: update, codec: 'int8' }).residual).toBeUndefined()
  })
})
