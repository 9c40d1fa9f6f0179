import { describe, expect, it } from 'vitest'
import {
  ContainerError,
  decodeContainer,
  encodeContainer,
  flattenTensors,
  type NamedTensor,
  sha256Hex,
  unflattenTensors,
} from './index.ts'

const tensors = [
  {
    name: 'dense/kernel',
    shape: [2, 3],
    dtype: 'float32' as const,
    data: new Float32Array([1, 2, 3, 4, 5, -6.5]),
  },
  {
    name: 'dense/bias',
    shape: [3],
    dtype: 'float32' as const,
    data: new Float32Array([0.25, 0, -1]),
  },
]

const codeOf = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return e instanceof ContainerError ? e.code : `not a ContainerError: ${String(e)}`
  }
  return 'did not throw'
}

describe('tensor container', () => {
  it('round-trips tensors and metadata', () => {
    const bytes = encodeContainer({ tensors, metadata: { examples: 12, note: 'x' } })
    const back = decodeContainer(bytes)
    expect(back.codec).toBe('float32')
    expect(back.metadata).toEqual({ examples: 12, note: 'x' })
    expect(back.tensors.map((t) => [t.name, t.shape, Array.from(t.data)])).toEqual(
      tensors.map((t) => [t.name, t.shape, Array.from(t.data)]),
    )
  })

  it('leaves an optional metadata field that is undefined out of the header', () => {
    const bytes = encodeContainer({ tensors, metadata: { examples: 12, loss: undefined } })
    const back = decodeContainer(bytes)
    expect(back.metadata).toEqual({ examples: 12 })
    expect(Object.hasOwn(back.metadata, 'loss')).toBe(false)
  })

  it('lays the payload out little-endian after a 4-aligned header', () => {
    const bytes = encodeContainer({ tensors: [tensors[1]!] })
    const headerLength = new DataView(bytes.buffer).getUint32(8, true)
    const start = 12 + headerLength + ((4 - (headerLength % 4)) % 4)
    expect(start % 4).toBe(0)
    expect(new DataView(bytes.buffer).getFloat32(start, true)).toBe(0.25)
    expect(bytes.length).toBe(start + 12)
  })

  it('names what is wrong with a corrupt container', () => {
    const good = encodeContainer({ tensors })
    expect(codeOf(() => decodeContainer(new Uint8Array(5)))).toBe('truncated')
    const badMagic = good.slice()
    badMagic[0] = 0x58
    expect(codeOf(() => decodeContainer(badMagic))).toBe('bad-magic')
    const badVersion = good.slice()
    new DataView(badVersion.buffer).setUint32(4, 9, true)
    expect(codeOf(() => decodeContainer(badVersion))).toBe('bad-version')
    expect(codeOf(() => decodeContainer(good.subarray(0, good.length - 4)))).toBe('truncated')
    const longer = new Uint8Array(good.length + 4)
    longer.set(good)
    expect(codeOf(() => decodeContainer(longer))).toBe('size-mismatch')
    const hugeHeader = good.slice()
    new DataView(hugeHeader.buffer).setUint32(8, 2 ** 31, true)
    expect(codeOf(() => decodeContainer(hugeHeader))).toBe('truncated')
  })

  it('rejects hostile headers', () => {
    const withHeader = (header: string) => {
      const h = new TextEncoder().encode(header)
      const bytes = new Uint8Array(12 + h.length + ((4 - (h.length % 4)) % 4))
      bytes.set(new TextEncoder().encode('PLNT'))
      new DataView(bytes.buffer).setUint32(4, 1, true)
      new DataView(bytes.buffer).setUint32(8, h.length, true)
      bytes.set(h, 12)
      return bytes
    }
    expect(codeOf(() => decodeContainer(withHeader('{nope')))).toBe('bad-header')
    expect(codeOf(() => decodeContainer(withHeader('{"codec":"zip","tensors":[]}')))).toBe(
      'unknown-codec',
    )
    expect(
      codeOf(() =>
        decodeContainer(
          withHeader('{"codec":"float32","tensors":[{"name":"a","shape":[-1],"dtype":"float32"}]}'),
        ),
      ),
    ).toBe('bad-header')
    expect(
      codeOf(() =>
        decodeContainer(
          withHeader('{"codec":"float32","tensors":[{"name":"a","shape":[1],"dtype":"int8"}]}'),
        ),
      ),
    ).toBe('bad-header')
    expect(
      codeOf(() =>
        decodeContainer(
          withHeader(
            '{"codec":"float32","tensors":[{"name":"a","shape":[1],"dtype":"float32"},{"name":"a","shape":[1],"dtype":"float32"}]}',
          ),
        ),
      ),
    ).toBe('bad-header')
    expect(
      codeOf(() =>
        decodeContainer(withHeader('{"codec":"float32","tensors":[],"metadata":{"x":{"y":1}}}')),
      ),
    ).toBe('bad-header')
  })

  it('refuses to encode data that does not match the shape', () => {
    expect(
      codeOf(() =>
        encodeContainer({
          tensors: [{ name: 'a', shape: [3], dtype: 'float32', data: new Float32Array(2) }],
        }),
      ),
    ).toBe('size-mismatch')
  })

  // Found by container.fuzz.test.ts: each of these was written, then refused by decodeContainer.
  it('refuses to write what it would refuse to read', () => {
    const one = (name: string, shape: number[]) => ({
      name,
      shape,
      dtype: 'float32' as const,
      data: new Float32Array(1),
    })
    const cases: [Parameters<typeof encodeContainer>[0], string][] = [
      [{ tensors: [], metadata: { loss: NaN } }, 'metadata.loss'],
      [{ tensors: [], metadata: { loss: Infinity } }, 'metadata.loss'],
      [{ tensors: [one('w', [1]), one('w', [1])] }, 'appears twice'],
      [{ tensors: [one('', [1])] }, 'name'],
      [{ tensors: [one('w', Array<number>(9).fill(1))] }, 'shape'],
      [{ tensors: [one('w', [-1, -1])] }, 'shape'],
    ]
    for (const [input, why] of cases) {
      expect(codeOf(() => encodeContainer(input))).toBe('bad-header')
      expect(() => encodeContainer(input)).toThrow(why)
    }
  })

  it('hashes with SHA-256', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })
})

describe('flattenTensors and unflattenTensors', () => {
  it('lay tensors end to end and cut them back, in order', () => {
    const tensors: NamedTensor[] = [
      { name: 'w', shape: [2, 2], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4) },
      { name: 'b', shape: [2], dtype: 'float32', data: Float32Array.of(5, 6) },
    ]
    const flat = flattenTensors(tensors)
    expect([...flat]).toEqual([1, 2, 3, 4, 5, 6])
    expect(unflattenTensors(Float64Array.from(flat), tensors)).toEqual(tensors)
    expect(() => unflattenTensors(flat.subarray(1), tensors)).toThrow(/5 entries, not 6/)
  })
})
