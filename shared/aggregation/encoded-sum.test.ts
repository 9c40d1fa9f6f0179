import { describe, expect, it } from 'vitest'
import { MAX_BLOCK_SIZE } from '../codecs/index.ts'
import { l2Norm, scaleTensors } from '../privacy/index.ts'
import {
  BlockScratch,
  type Codec,
  ContainerError,
  decodeContainer,
  decodeContainerHeader,
  decodeEncoded,
  type EncodedTensors,
  encodeContainer,
  forEachBlock,
  isEncoded,
  type NamedTensor,
  readContainer,
} from '../tensors/index.ts'
import { createRunningSum } from './index.ts'

// 300 + 3072 entries: b-bit's one frame gets full blocks (2048, 1024) and a padded one (300).
const spec = [
  { name: 'w', shape: [3, 100] },
  { name: 'b', shape: [3072] },
]
const COMPRESSED = ['float16', 'int8', 'bbit1', 'bbit2', 'bbit3', 'bbit4', 'topk'] as const

function update(seed: number): NamedTensor[] {
  let s = seed
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2
  return spec.map(({ name, shape }) => ({
    name,
    shape,
    dtype: 'float32' as const,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, next),
  }))
}

const encode = (codec: Codec, seed: number) =>
  encodeContainer({ tensors: update(seed), codec, seed, blockSize: 64, keep: 0.1 })

function read(bytes: Uint8Array): EncodedTensors {
  const { tensors } = readContainer(bytes)
  if (!isEncoded(tensors)) throw new Error('expected an encoded update')
  return tensors
}

/** The sum's float64 words as bytes: equal exactly when the sums are equal bit for bit. */
const bitsOf = (sum: Float64Array) => new Uint8Array(sum.buffer.slice(0))

describe('a compressed update read without a float32 copy', () => {
  it.each(COMPRESSED)(
    '%s: adds to the running sum bit for bit as decode-then-add does',
    (codec) => {
      const updates = [1, 2, 3].map((seed) => encode(codec, seed))
      const weights = [10, 3.5, 1]
      const decoded = createRunningSum(spec)
      const streamed = createRunningSum(spec)
      updates.forEach((bytes, i) => {
        decoded.add(decodeContainer(bytes).tensors, weights[i]!)
        streamed.add(read(bytes), weights[i]!)
      })
      expect(streamed.count).toBe(3)
      expect(bitsOf(streamed.flat())).toEqual(bitsOf(decoded.flat()))
      expect(decodeEncoded(read(updates[0]!))).toEqual(decodeContainer(updates[0]!).tensors)
    },
  )

  it.each(COMPRESSED)('%s: a scaled update adds as the scaled decoded tensors do', (codec) => {
    const bytes = encode(codec, 7)
    const decoded = createRunningSum(spec)
    const streamed = createRunningSum(spec)
    // Two factors in turn, each rounded to float32: a norm bound's clip, then a staleness weight.
    decoded.add(scaleTensors(scaleTensors(decodeContainer(bytes).tensors, 0.37), 1 / 3), 2)
    streamed.add(
      read(bytes)
        .scaled(0.37)
        .scaled(1 / 3),
      2,
    )
    expect(bitsOf(streamed.flat())).toEqual(bitsOf(decoded.flat()))
  })

  it.each(COMPRESSED)('%s: the norm from the frames is the decoded tensors’ norm', (codec) => {
    const bytes = encode(codec, 11)
    const want = l2Norm(decodeContainer(bytes).tensors)
    // Exact where the entries are read as decoding writes them; b-bit's full blocks are read in
    // the rotated domain, within the float32 rounding of the entries.
    if (codec.startsWith('bbit'))
      expect(Math.abs(read(bytes).norm - want) / want).toBeLessThan(1e-6)
    else expect(read(bytes).norm).toBe(want)
  })

  it('decodes a long int8 or float16 tensor through a scratch of at most one block', () => {
    const long = [{ name: 'w', shape: [3 * MAX_BLOCK_SIZE + 5] }]
    const data = Float32Array.from({ length: 3 * MAX_BLOCK_SIZE + 5 }, (_, i) => Math.sin(i))
    for (const codec of ['int8', 'float16'] as const) {
      const bytes = encodeContainer({ tensors: [{ ...long[0]!, dtype: 'float32', data }], codec })
      const seen: number[] = []
      const scratch = new BlockScratch()
      forEachBlock(read(bytes), scratch, (start, values, count) => {
        expect(values.length).toBeLessThanOrEqual(MAX_BLOCK_SIZE)
        seen.push(start, count)
      })
      expect(seen.at(-2)! + seen.at(-1)!).toBe(data.length)
    }
  })

  /** The payload's byte at `at` from its start set to `value`. */
  function corrupt(bytes: Uint8Array, at: number, value: number): Uint8Array {
    const copy = bytes.slice()
    copy[decodeContainerHeader(copy).payloadStart + at] = value
    return copy
  }

  it('refuses a bad frame naming the part, as decoding it whole would, and adds nothing', () => {
    const nanScale = (bytes: Uint8Array) => {
      const copy = bytes.slice()
      new DataView(copy.buffer).setFloat32(decodeContainerHeader(copy).payloadStart, NaN, true)
      return copy
    }
    const int8 = encode('int8', 1)
    // w's 300 entries in blocks of 64: 5 scales (20 bytes), then its codes.
    const cases: [Uint8Array, string][] = [
      [nanScale(int8), 'tensors[0]'],
      [corrupt(int8, 20 + 7, 0x80), 'tensors[0]'], // a code of −128
      [corrupt(corrupt(encode('float16', 1), 601, 0x7c), 600, 0), 'tensors[1]'], // +Infinity
      [corrupt(encode('topk', 1), 3, 0xff), 'tensors[0]'], // an index past the tensor
      [nanScale(encode('bbit2', 1)), 'payload'],
    ]
    // b-bit: a scale near float32's largest, whose block would decode to ±Infinity.
    const huge = encode('bbit1', 1).slice()
    new DataView(huge.buffer).setFloat32(decodeContainerHeader(huge).payloadStart, 3e38, true)
    cases.push([huge, 'payload'])
    for (const [bytes, part] of cases) {
      const whole = (() => {
        try {
          return decodeContainer(bytes)
        } catch (error) {
          return error
        }
      })()
      if (bytes !== huge) expect(whole).toMatchObject({ code: 'bad-payload', part })
      expect(() => readContainer(bytes)).toThrow(ContainerError)
      try {
        readContainer(bytes)
      } catch (error) {
        expect(error).toMatchObject({ code: 'bad-payload', part })
      }
    }
  })

  it('a running sum refuses an update that does not fit the model, unchanged', () => {
    const sum = createRunningSum(spec)
    sum.add(read(encode('int8', 1)), 1)
    const before = bitsOf(sum.flat())
    const other = encodeContainer({ tensors: update(2).reverse(), codec: 'int8', seed: 2 })
    expect(() => sum.add(read(other), 1)).toThrow(RangeError)
    expect(() => sum.add(read(encode('int8', 3)), 0)).toThrow(RangeError)
    expect(bitsOf(sum.flat())).toEqual(before)
    expect(sum.count).toBe(1)
  })
})
