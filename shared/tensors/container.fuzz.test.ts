import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fuzzParameters, fuzzRuns, watchAllocations } from '../fuzz.ts'
import {
  type Container,
  type ContainerMetadata,
  CODECS,
  ContainerError,
  decodeContainer,
  decodeContainerHeader,
  encodeContainer,
} from './container.ts'
import { type NamedTensor, tensorSize } from './named-tensor.ts'

/**
 * The tensor container is what every device upload and every model blob is read through, so a
 * hostile device controls every byte of it. Whatever the bytes, decodeContainer returns tensors
 * whose data matches their shapes or throws a ContainerError; it never believes a size before
 * checking it against the bytes it has (no allocation beyond the input), and never hangs.
 */
const RUNS = fuzzRuns(300)
const params = fuzzParameters(RUNS)

const CODES = [
  'bad-magic',
  'bad-version',
  'truncated',
  'bad-header',
  'unknown-codec',
  'size-mismatch',
  'bad-payload',
]
/** A decode of a few kilobytes that takes this long is a hang, whatever the machine's load. */
const SLOW_MS = 1000

// ---- valid containers --------------------------------------------------------------------

const tensorArb = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }),
    fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
  )
  .chain(([name, shape]) =>
    fc
      .float32Array({ minLength: tensorSize(shape), maxLength: tensorSize(shape) })
      .map((data): NamedTensor => ({ name, shape, dtype: 'float32', data })),
  )

const containerArb = fc.record({
  tensors: fc.uniqueArray(tensorArb, { maxLength: 5, selector: (t) => t.name }),
  metadata: fc.dictionary(
    fc.string({ unit: 'binary' }),
    fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
    ),
    { maxKeys: 5 },
  ),
})

// ---- hostile bytes -----------------------------------------------------------------------

const u32 = (bytes: Uint8Array, at: number, value: number) => {
  const out = bytes.slice()
  if (at + 4 <= out.length) new DataView(out.buffer).setUint32(at, value >>> 0, true)
  return out
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** A container with its JSON header replaced by `header`, the payload left as it was. */
function withHeader(bytes: Uint8Array, header: unknown): Uint8Array {
  const { payloadStart } = decodeContainerHeader(bytes)
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = new Uint8Array(json.length + ((4 - (json.length % 4)) % 4))
  padded.set(json)
  const preamble = u32(bytes.subarray(0, 12), 8, json.length)
  return concat(preamble, padded, bytes.subarray(payloadStart))
}

/** Shapes, dtypes, names and sizes a liar might claim. */
const lies = {
  shape: fc.oneof(
    fc.constantFrom(
      [2 ** 31],
      [2 ** 31 - 1],
      [2 ** 16, 2 ** 16],
      Array<number>(8).fill(2 ** 31 - 1),
      Array<number>(9).fill(1),
      [0, 2 ** 31 - 1],
      [-1],
      [-1, -1],
      [1.5, 2],
      [1e300],
      ['3'],
      [null],
      [],
      '3',
      null,
      {},
    ),
    fc.array(fc.integer({ min: -5, max: 2 ** 32 }), { maxLength: 9 }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  dtype: fc.oneof(fc.constantFrom('float64', 'int8', 'float16', null, 1, ''), fc.jsonValue()),
  name: fc.oneof(fc.constantFrom('', 'x'.repeat(501), null, 5), fc.jsonValue()),
  codec: fc.oneof(fc.constantFrom('float64', 'bbit5', 'int4', '', null, 'FLOAT32'), fc.jsonValue()),
  metadata: fc.oneof(
    fc.constantFrom([], null, 'x', { a: {} }, { a: null }, { a: [1] }),
    fc.jsonValue(),
  ),
}

type Lie = (header: Record<string, unknown>, random: number) => unknown
const lieArb: fc.Arbitrary<Lie> = fc.oneof(
  ...(['shape', 'dtype', 'name'] as const).map((field) =>
    lies[field].map((value): Lie => (header, i) => {
      const tensors = header.tensors as Record<string, unknown>[]
      if (tensors.length === 0)
        return { ...header, tensors: [{ name: 'x', shape: [], [field]: value }] }
      const at = i % tensors.length
      return {
        ...header,
        tensors: tensors.map((t, j) => (j === at ? { ...t, [field]: value } : t)),
      }
    }),
  ),
  lies.codec.map((codec): Lie => (header) => ({ ...header, codec })),
  lies.metadata.map((metadata): Lie => (header) => ({ ...header, metadata })),
  fc.constant<Lie>((header) => {
    const tensors = header.tensors as unknown[]
    return { ...header, tensors: [...tensors, ...tensors] } // every name twice
  }),
  fc.jsonValue().map(
    (anything): Lie =>
      () =>
        anything,
  ),
)

/** Valid containers made hostile: bits flipped, cut, extended, sizes and header lied about. */
const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc
    .tuple(fc.uint8Array({ maxLength: 256 }), fc.nat())
    .map(([rest, length]) =>
      concat(
        new TextEncoder().encode('PLNT'),
        u32(new Uint8Array(8), 0, 1),
        u32(new Uint8Array(4), 0, length),
        rest,
      ),
    ),
  fc
    .tuple(
      containerArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
    )
    .map(([c, flips]) => {
      const bytes = encodeContainer(c)
      for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask
      return bytes
    }),
  fc.tuple(containerArb, fc.nat()).map(([c, n]) => {
    const bytes = encodeContainer(c)
    return bytes.slice(0, n % bytes.length)
  }),
  fc
    .tuple(containerArb, fc.uint8Array({ minLength: 1, maxLength: 64 }))
    .map(([c, extra]) => concat(encodeContainer(c), extra)),
  fc
    .tuple(
      containerArb,
      fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 31, -1)),
      fc.integer({ min: -8, max: 8 }),
    )
    .map(([c, lie, nudge]) => {
      const bytes = encodeContainer(c)
      const real = new DataView(bytes.buffer).getUint32(8, true)
      return u32(bytes, 8, lie % 3 === 0 ? real + nudge : lie)
    }),
  fc
    .tuple(containerArb, fc.nat(), fc.constantFrom(0, 4))
    .map(([c, value, at]) => u32(encodeContainer(c), at, value)),
  fc.tuple(containerArb, lieArb, fc.nat()).map(([c, lie, i]) => {
    const bytes = encodeContainer(c)
    const { payloadStart: _, ...header } = decodeContainerHeader(bytes)
    return withHeader(bytes, lie(header, i))
  }),
)

// ---- what a decoded container promises ---------------------------------------------------

/** A decoded container is consistent with itself and with the bytes it came from. */
function expectConsistent(container: Container, bytes: Uint8Array): void {
  const names = new Set<string>()
  let payload = 0
  for (const t of container.tensors) {
    expect(t.name.length).toBeGreaterThan(0)
    expect(names.has(t.name)).toBe(false)
    names.add(t.name)
    expect(t.dtype).toBe('float32')
    expect(t.shape.length).toBeLessThanOrEqual(8)
    for (const d of t.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true)
    expect(t.data).toBeInstanceOf(Float32Array)
    expect(t.data.length).toBe(tensorSize(t.shape))
    payload += t.data.byteLength
  }
  expect(payload).toBeLessThanOrEqual(bytes.length)
  for (const v of Object.values(container.metadata)) {
    expect(['string', 'number', 'boolean']).toContain(typeof v)
    if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true)
  }
}

/** Decodes `bytes` as the coordinator does, holding the decoder to its promises. */
function decodeHostile(bytes: Uint8Array): void {
  const started = performance.now()
  const { largest, outcome } = watchAllocations(() => decodeContainer(bytes))
  expect(performance.now() - started).toBeLessThan(SLOW_MS)
  // A copy of the payload (an unaligned input) is the most a decode may take.
  expect(largest).toBeLessThanOrEqual(bytes.length)
  if (outcome.ok) expectConsistent(outcome.value, bytes)
  else {
    expect(outcome.error).toBeInstanceOf(ContainerError)
    expect(CODES).toContain((outcome.error as ContainerError).code)
  }
}

/** `bytes` at an odd offset in a larger buffer: the decoder's copying path. */
const unaligned = (bytes: Uint8Array) => {
  const holder = new Uint8Array(bytes.length + 1)
  holder.set(bytes, 1)
  return holder.subarray(1)
}

/** −0 is written as 0 (JSON has no −0): the same size, the same number. */
const zeroed = (v: unknown) => (v === 0 ? 0 : v)

const sameTensors = (a: readonly NamedTensor[], b: readonly NamedTensor[]) => {
  const seen = (t: NamedTensor) => [
    t.name,
    t.shape.map(zeroed),
    t.dtype,
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  ]
  expect(a.map(seen)).toEqual(b.map(seen))
}

const sameMetadata = (a: ContainerMetadata, b: ContainerMetadata) =>
  expect(Object.entries(a).map(([k, v]) => [k, zeroed(v)])).toEqual(
    Object.entries(b).map(([k, v]) => [k, zeroed(v)]),
  )

// ---- the properties ----------------------------------------------------------------------

describe('tensor container under fuzzing', () => {
  it('watches allocations (so that the bound below can fail)', () => {
    expect(watchAllocations(() => new Float32Array(2 ** 10)).largest).toBe(2 ** 12)
  })

  it('decodes any bytes to consistent tensors or a ContainerError, allocating no more than it got', () => {
    fc.assert(
      fc.property(hostileBytes, fc.boolean(), (bytes, odd) =>
        decodeHostile(odd ? unaligned(bytes) : bytes),
      ),
      params,
    )
  })

  it('refuses a header that claims more elements than the bytes hold, before allocating them', () => {
    const claims = fc.tuple(
      containerArb.filter((c) => c.tensors.length > 0),
      fc.array(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 8 }),
      fc.nat(),
    )
    fc.assert(
      fc.property(claims, ([c, shape, i]) => {
        const bytes = encodeContainer(c)
        const { payloadStart: _, ...header } = decodeContainerHeader(bytes)
        const at = i % header.tensors.length
        const claimed = header.tensors.map((t, j) => (j === at ? { ...t, shape } : t))
        const lying = withHeader(bytes, { ...header, tensors: claimed })
        const honest = claimed.reduce((n, t) => n + tensorSize(t.shape) * 4, 0)
        decodeHostile(lying)
        decodeHostile(unaligned(lying))
        if (honest + 12 > lying.length) expect(() => decodeContainer(lying)).toThrow(ContainerError)
      }),
      params,
    )
  })

  it('round-trips: decode(encode(c)) is c, from aligned and unaligned bytes alike', () => {
    fc.assert(
      fc.property(containerArb, (c) => {
        const bytes = encodeContainer(c)
        for (const input of [bytes, unaligned(bytes)]) {
          const back = decodeContainer(input)
          expect(back.codec).toBe('float32')
          sameMetadata(back.metadata, c.metadata)
          sameTensors(back.tensors, c.tensors)
        }
        // And the bytes are canonical: encoding what was decoded writes them again.
        expect(encodeContainer(decodeContainer(bytes))).toEqual(bytes)
      }),
      params,
    )
  })

  it('never writes a container it would refuse to read', () => {
    const anyTensor = fc
      .tuple(
        fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'w'.repeat(501), 'dup')),
        fc.oneof(
          fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 10 }),
          fc.constantFrom<number[]>([2 ** 31, 0], [1.5, 2], [-1, -1], [-0], [2 ** 53 + 2, 0]),
        ),
      )
      .map(([name, shape]): NamedTensor => ({
        name,
        shape,
        dtype: 'float32',
        data: new Float32Array(Math.max(0, Math.min(64, Math.round(tensorSize(shape) || 0)))),
      }))
    const input = fc.record({
      tensors: fc.array(anyTensor, { maxLength: 4 }),
      metadata: fc.dictionary(
        fc.string(),
        fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constantFrom(NaN, Infinity, -Infinity)),
        { maxKeys: 3 },
      ),
    })
    fc.assert(
      fc.property(input, (c) => {
        let bytes: Uint8Array
        try {
          bytes = encodeContainer(c)
        } catch (error) {
          expect(error).toBeInstanceOf(ContainerError)
          return
        }
        const back = decodeContainer(bytes)
        sameMetadata(back.metadata, c.metadata)
        sameTensors(back.tensors, c.tensors)
      }),
      params,
    )
  })

  it('round-trips every compressed codec to the same names, shapes and metadata, finite; any byte changed decodes or is a ContainerError', () => {
    const finiteTensor = fc
      .tuple(
        fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
      )
      .chain(([name, shape]) =>
        fc
          .float32Array({
            minLength: tensorSize(shape),
            maxLength: tensorSize(shape),
            noNaN: true,
            noDefaultInfinity: true,
            min: -60000, // within float16: past 65520 it refuses to encode (tested apart)
            max: 60000,
          })
          .map((data): NamedTensor => ({ name, shape, dtype: 'float32', data })),
      )
    const input = fc.record({
      tensors: fc.uniqueArray(finiteTensor, { maxLength: 4, selector: (t) => t.name }),
      codec: fc.constantFrom(...CODECS.filter((c) => c !== 'float32')),
      seed: fc.nat({ max: 2 ** 32 - 1 }),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    })
    fc.assert(
      fc.property(input, ({ tensors, codec, seed, at, byte }) => {
        const bytes = encodeContainer({ tensors, codec, seed, keep: 0.3, metadata: { n: 1 } })
        const back = decodeContainer(bytes)
        expect(back.codec).toBe(codec)
        expect(back.metadata).toEqual({ n: 1 })
        expect(back.tensors.map((t) => [t.name, t.shape])).toEqual(
          tensors.map((t) => [t.name, t.shape]),
        )
        for (const t of back.tensors) expect(t.data.every(Number.isFinite)).toBe(true)
        const hostile = bytes.slice()
        hostile[at % hostile.length] = byte
        try {
          const decoded = decodeContainer(hostile)
          for (const t of decoded.tensors) expect(t.data.every(Number.isFinite)).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(ContainerError)
          expect(CODES).toContain((error as ContainerError).code)
        }
      }),
      params,
    )
  })
})
