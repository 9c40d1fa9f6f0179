import { describe, expect, it } from 'vitest'
import { l2Norm } from '../../shared/privacy/index.ts'
import {
  encodeContainer,
  isEncoded,
  materialize,
  type UpdateTensors,
} from '../../shared/tensors/index.ts'
import {
  checkMetadata,
  checkTensors,
  checkUpdate,
  UPLOAD_SLACK_BYTES,
  uploadLimit,
} from './admission.ts'
import { claimBound } from './claims.ts'

const spec = [
  { name: 'w', shape: [2, 2] },
  { name: 'b', shape: [2] },
]
const claim = claimBound({ localEpochs: 1, batchSize: 10, learningRate: 0.1, optimizer: 'sgd' }, 20)
const BASE = 'a'.repeat(64)
const OTHER = 'b'.repeat(64)
const metadata = { examples: 10, steps: 1, baseModel: BASE }
const tensors = (w = [1, 2, 3, 4], b = [0, 0], shape = [2, 2]) => [
  { name: 'w', shape, dtype: 'float32' as const, data: Float32Array.from(w) },
  { name: 'b', shape: [2], dtype: 'float32' as const, data: Float32Array.from(b) },
]
const check = (bytes: Uint8Array, baseModel = BASE) =>
  checkUpdate(bytes, { baseModel, spec, claim, codecs: ['float32'] })

describe('upload admission', () => {
  it('takes an update that fits the round, with its tensors and metadata', () => {
    const checked = check(encodeContainer({ tensors: tensors(), metadata }))
    expect(checked).toMatchObject({ metadata, tensors: [{ name: 'w' }, { name: 'b' }] })
  })

  it('gives back the update’s L2 norm, from the pass that checks its values are finite', () => {
    const checked = check(encodeContainer({ tensors: tensors([3, 0, 0, 0], [4, 0]), metadata }))
    expect(checked).toMatchObject({ norm: 5 })
    const huge = check(encodeContainer({ tensors: tensors([3e38, -3e38, 3e38, 3e38]), metadata }))
    expect(huge).toMatchObject({ norm: expect.closeTo(6e38, -36) as number })
    for (const bad of [Infinity, -Infinity, NaN])
      expect(
        check(encodeContainer({ tensors: tensors([1, 2, 3, 4], [0, bad]), metadata })),
      ).toMatchObject({ field: 'tensors', message: 'the update contains NaN or infinite values' })
  })

  it('names what is wrong, in order: container, metadata, base model, tensors, claims', () => {
    expect(check(new Uint8Array([1, 2, 3]))).toMatchObject({ field: 'body' })
    expect(
      check(encodeContainer({ tensors: tensors(), metadata: { ...metadata, examples: -1 } })),
    ).toMatchObject({ field: 'metadata.examples' })
    expect(check(encodeContainer({ tensors: tensors(), metadata }), OTHER)).toMatchObject({
      field: 'metadata.baseModel',
      message: `the update was computed against ${BASE}, not this round's model ${OTHER}`,
    })
    expect(
      check(encodeContainer({ tensors: tensors([1, 2, 3, 4], [0, 0], [4, 1]), metadata })),
    ).toMatchObject({ field: 'tensors[0].shape' })
    expect(check(encodeContainer({ tensors: tensors([1, NaN, 3, 4]), metadata }))).toMatchObject({
      field: 'tensors',
      message: 'the update contains NaN or infinite values',
    })
    expect(
      check(encodeContainer({ tensors: tensors(), metadata: { ...metadata, steps: 9 } })),
    ).toMatchObject({ field: 'metadata.steps' })
  })

  it('takes only the codecs the task accepts, refusing another naming codec', () => {
    const codecs = ['int8', 'bbit1'] as const
    const check8 = (bytes: Uint8Array) =>
      checkUpdate(bytes, { baseModel: BASE, spec, claim, codecs })
    const int8 = check8(encodeContainer({ tensors: tensors(), metadata, codec: 'int8', seed: 1 }))
    expect(int8).toMatchObject({ metadata })
    // Left encoded, its norm computed from the frames: the decoded tensors' norm, bit for bit.
    const encoded = (int8 as { tensors: UpdateTensors; norm: number }).tensors
    expect(isEncoded(encoded)).toBe(true)
    const decoded = materialize(encoded)
    expect(decoded.map((t) => t.name)).toEqual(['w', 'b'])
    expect((int8 as { norm: number }).norm).toBe(l2Norm(decoded))
    const w = decoded[0]!.data
    w.forEach((v, i) => expect(Math.abs(v - (i + 1))).toBeLessThan(4 / 127 + 1e-6))
    expect(check8(encodeContainer({ tensors: tensors(), metadata, codec: 'bbit1' }))).toMatchObject(
      {
        metadata,
      },
    )
    for (const codec of ['float32', 'float16', 'topk'] as const)
      expect(check8(encodeContainer({ tensors: tensors(), metadata, codec }))).toEqual({
        field: 'codec',
        message: `this task accepts uploads in int8, bbit1, not ${codec}`,
      })
  })

  it('refuses a compressed frame naming the part: a scale decoding to Infinity, a lying shape', () => {
    const codecs = ['float16'] as const
    const bytes = encodeContainer({ tensors: tensors(), metadata, codec: 'float16' })
    bytes[bytes.length - 1] = 0x7c // b[1]'s high byte: a half of Infinity
    bytes[bytes.length - 2] = 0x00
    expect(checkUpdate(bytes, { baseModel: BASE, spec, claim, codecs })).toMatchObject({
      field: 'tensors[1]',
      message: expect.stringContaining('b: entry 1 decodes to Infinity') as unknown,
    })
    // A shape the model does not have is refused from the header, before any decoding.
    const lying = encodeContainer({ tensors: tensors([1, 2, 3, 4], [0, 0], [4, 1]), metadata })
    expect(checkUpdate(lying, { baseModel: BASE, spec, claim, codecs: ['float32'] })).toMatchObject(
      { field: 'tensors[0].shape' },
    )
  })

  it('checks tensor names and count against the model', () => {
    expect(checkTensors(tensors().slice(0, 1), spec)).toMatchObject({
      field: 'tensors',
      message: 'expected 2 tensors, got 1',
    })
    expect(checkTensors([...tensors()].reverse(), spec)).toMatchObject({ field: 'tensors[0].name' })
    expect(checkTensors(tensors(), spec)).toEqual({ norm: expect.any(Number) as number })
  })

  it('checks a masked upload’s metadata and claims as a plain one’s', () => {
    expect(checkMetadata(metadata, BASE, claim)).toEqual({ metadata })
    expect(checkMetadata({ ...metadata, examples: 21 }, BASE, claim)).toMatchObject({
      field: 'metadata.examples',
    })
    expect(checkMetadata(metadata, OTHER, claim)).toMatchObject({ field: 'metadata.baseModel' })
  })

  it('allows a model’s payload and some slack for the header', () => {
    expect(uploadLimit({ payloadBytes: 1000 })).toBe(1000 + UPLOAD_SLACK_BYTES)
  })
})
