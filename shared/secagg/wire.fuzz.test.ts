import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  fieldOf,
  fuzzParameters,
  fuzzRuns,
  jsonPaths,
  nested,
  replaceAt,
  watchAllocations,
} from '../fuzz.ts'
import { parseMessage, SecAggError } from './errors.ts'
import { KeysMessageSchema, RevealMessageSchema, SharesMessageSchema } from './messages.ts'
import { decodeMaskedUpdate, encodeMaskedUpdate, fromBase64url, toBase64url } from './wire.ts'

/**
 * What a device sends a SecAgg+ round is parsed here first: base64url byte strings, the JSON
 * messages of each stage, and the binary frame of a masked update. Whatever arrives, these
 * return what was sent or throw a SecAggError (422, naming the part at fault), never another
 * error, never allocating past the input's size.
 */
const RUNS = fuzzRuns(300)
const params = fuzzParameters(RUNS)

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** What a refusal must be: a SecAggError for the caller to turn into a 422 naming the field. */
function expectRefusal(error: unknown, fields?: readonly string[]): void {
  expect(error).toBeInstanceOf(SecAggError)
  const e = error as SecAggError
  expect(e.status).toBe(422)
  expect(e.code).toBe('invalid')
  expect(e.field.length).toBeGreaterThan(0)
  if (fields) expect(fields).toContain(e.field.split('.')[0])
}

describe('base64url under fuzzing', () => {
  it('round-trips any bytes, in the URL-safe alphabet, unpadded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64url(bytes)
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/)
        expect(text.length).toBe(Math.ceil((bytes.length * 4) / 3))
        expect(fromBase64url(text, 'x')).toEqual(bytes)
      }),
      params,
    )
  })

  it('reads a string only in its one canonical spelling, refusing the rest with its field', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 120 }),
      fc.string({
        unit: fc.constantFrom(...ALPHABET, '=', '+', '/', ' ', 'é', '\u0000'),
        maxLength: 40,
      }),
      fc.string({ unit: 'binary', maxLength: 40 }),
    )
    fc.assert(
      fc.property(text, (input) => {
        const { largest, outcome } = watchAllocations(() =>
          fromBase64url(input, 'shares.3.ciphertext'),
        )
        expect(largest).toBeLessThanOrEqual(input.length)
        if (outcome.ok) expect(toBase64url(outcome.value)).toBe(input)
        else {
          expectRefusal(outcome.error)
          expect((outcome.error as SecAggError).field).toBe('shares.3.ciphertext')
        }
      }),
      params,
    )
  })
})

// ---- masked update frames ----------------------------------------------------------------

const FRAME_FIELDS = ['magic', 'header', 'metadata', 'length', 'padding', 'masked']
const MAX_WORDS = 2 ** 28

const frameArb = fc.record({
  metadata: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  masked: fc.uint32Array({ maxLength: 64 }),
})

const u32 = (bytes: Uint8Array, at: number, value: number) => {
  const out = bytes.slice()
  if (at + 4 <= out.length) new DataView(out.buffer).setUint32(at, value >>> 0, true)
  return out
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0)
  return out
}
const MAGIC = new TextEncoder().encode('PSA1')

/** A frame whose header is `header` (any JSON, or raw bytes), followed by `words` bytes. */
function frame(header: unknown, words: Uint8Array): Uint8Array {
  const json =
    header instanceof Uint8Array ? header : new TextEncoder().encode(JSON.stringify(header))
  const padding = new Uint8Array((4 - ((8 + json.length) % 4)) % 4)
  return concat(MAGIC, u32(new Uint8Array(4), 0, json.length), json, padding, words)
}

const lyingLength = fc.oneof(
  fc.constantFrom(MAX_WORDS, MAX_WORDS + 1, 2 ** 32, -1, 1.5, 1e300, '4', null),
  fc.nat(),
  fc.jsonValue(),
)

const hostileFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .tuple(fc.uint8Array({ maxLength: 200 }), fc.nat())
    .map(([rest, n]) => concat(MAGIC, u32(new Uint8Array(4), 0, n), rest)),
  fc
    .tuple(
      frameArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      }),
    )
    .map(([f, flips]) => {
      const bytes = encodeMaskedUpdate(f)
      for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask
      return bytes
    }),
  fc.tuple(frameArb, fc.nat()).map(([f, n]) => {
    const bytes = encodeMaskedUpdate(f)
    return bytes.slice(0, n % bytes.length)
  }),
  fc
    .tuple(frameArb, fc.uint8Array({ minLength: 1, maxLength: 16 }))
    .map(([f, extra]) => concat(encodeMaskedUpdate(f), extra)),
  fc
    .tuple(frameArb, fc.oneof(fc.nat(), fc.constantFrom(2 ** 16, 2 ** 16 + 1, 2 ** 32 - 1)))
    .map(([f, n]) => u32(encodeMaskedUpdate(f), 4, n)),
  // The header lies about the length, with as many words as it says, or as the truth.
  fc.tuple(frameArb, lyingLength, fc.boolean()).map(([f, length, asClaimed]) => {
    const words =
      typeof length === 'number' && asClaimed && length >= 0 && length < 256
        ? length
        : f.masked.length
    return frame({ metadata: f.metadata, length }, new Uint8Array(4 * Math.floor(words)))
  }),
  fc
    .tuple(frameArb, fc.jsonValue())
    .map(([f, metadata]) =>
      frame({ metadata, length: f.masked.length }, new Uint8Array(f.masked.byteLength)),
    ),
  fc
    .tuple(fc.jsonValue(), fc.uint8Array({ maxLength: 64 }))
    .map(([header, words]) => frame(header, words)),
  fc
    .tuple(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }))
    .map(([header, words]) => frame(header, words)),
  // Nested deeper than JSON.stringify could write (JSON.parse reads it): within the 64 KiB cap.
  fc
    .integer({ min: 100, max: 30_000 })
    .map((depth) =>
      frame(
        new TextEncoder().encode(
          `{"metadata":{"deep":${'['.repeat(depth)}1${']'.repeat(depth)}},"length":0}`,
        ),
        new Uint8Array(),
      ),
    ),
)

describe('masked update frames under fuzzing', () => {
  it('decode any bytes to the words the header promised, or refuse them naming the part', () => {
    fc.assert(
      fc.property(hostileFrame, fc.option(fc.nat({ max: 64 })), (bytes, expectedLength) => {
        const started = performance.now()
        const { largest, outcome } = watchAllocations(() =>
          decodeMaskedUpdate(bytes, expectedLength === null ? {} : { expectedLength }),
        )
        expect(performance.now() - started).toBeLessThan(1000)
        expect(largest).toBeLessThanOrEqual(bytes.length)
        if (!outcome.ok) return expectRefusal(outcome.error, FRAME_FIELDS)
        const { metadata, masked } = outcome.value
        expect(typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)).toBe(
          true,
        )
        expect(masked).toBeInstanceOf(Uint32Array)
        if (expectedLength !== null) expect(masked.length).toBe(expectedLength)
        // The words end the frame: nothing before them is taken for a word, nothing after is left.
        expect(new Uint8Array(masked.buffer)).toEqual(
          bytes.subarray(bytes.length - masked.byteLength),
        )
      }),
      params,
    )
  })

  it('round-trip: decode(encode(frame)) is the frame, aligned or not', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const bytes = encodeMaskedUpdate(f)
        const shifted = new Uint8Array(bytes.length + 1).subarray(1)
        shifted.set(bytes)
        for (const input of [bytes, shifted]) {
          const back = decodeMaskedUpdate(input, { expectedLength: f.masked.length })
          expect(back.masked).toEqual(f.masked)
          expect(back.metadata).toEqual(JSON.parse(JSON.stringify(f.metadata)))
        }
      }),
      params,
    )
  })
})

// ---- the stage messages ------------------------------------------------------------------

const b64 = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(toBase64url)
const id = fc.string({ minLength: 1, maxLength: 100 })
const messages = [
  {
    name: 'KeysMessageSchema',
    schema: KeysMessageSchema,
    valid: fc.record({ encryptionKey: b64(65), maskKey: b64(65) }),
  },
  {
    name: 'SharesMessageSchema',
    schema: SharesMessageSchema,
    valid: fc.record({
      shares: fc.array(fc.record({ to: id, ciphertext: b64(94) }), { maxLength: 6 }),
    }),
  },
  {
    name: 'RevealMessageSchema',
    schema: RevealMessageSchema,
    valid: fc.record({
      selfMaskShares: fc.array(fc.record({ of: id, share: b64(33) }), { maxLength: 4 }),
      keyShares: fc.array(fc.record({ of: id, share: b64(33) }), { maxLength: 4 }),
    }),
  },
]

const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(NaN, Infinity, '', 'x'.repeat(1001), '+/==', '\ud800', null, [], {}),
  fc.integer({ min: 100, max: 5000 }).map(nested),
)

describe.each(messages)('$name under fuzzing', ({ schema, valid }) => {
  /** parseMessage as the round calls it: the message, or a 422 naming a field. */
  const parse = (input: unknown) => {
    try {
      return { ok: true as const, value: parseMessage(schema as never, input) }
    } catch (error) {
      expectRefusal(error)
      const body = typeof input === 'object' && input !== null && !Array.isArray(input)
      if (body) expect((error as SecAggError).field).not.toBe('(body)')
      return { ok: false as const, field: (error as SecAggError).field }
    }
  }

  it('accepts every valid message as it is', () => {
    fc.assert(
      fc.property(valid, (message) => {
        expect(parse(message)).toEqual({ ok: true, value: message })
      }),
      params,
    )
  })

  it('parses arbitrary JSON or refuses it with a 422 naming a field', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => void parse(input)),
      params,
    )
  })

  it('takes one hostile value in a valid message, or refuses it naming where it is', () => {
    const mutated = fc.tuple(valid, fc.nat(), hostileValue).map(([message, i, value]) => {
      const paths = jsonPaths(message)
      const at = paths[i % paths.length]!
      return { input: replaceAt(message, at, value), at }
    })
    fc.assert(
      fc.property(mutated, ({ input, at }) => {
        const result = parse(input)
        if (!result.ok) {
          // The first issue is reported: it lies on the way to the hostile value, or at it.
          const field = result.field
          const target = fieldOf(at)
          expect(
            target === field || target.startsWith(`${field}.`) || field.startsWith(`${target}.`),
          ).toBe(true)
        }
      }),
      params,
    )
  })
})
