import { describe, expect, it } from 'vitest'
import { decodeMaskedUpdate, encodeMaskedUpdate, fromBase64url, toBase64url } from './wire.ts'

const fieldOf = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return `${(e as { status?: number }).status} ${(e as { field?: string }).field}`
  }
  return 'no error'
}

describe('base64url', () => {
  it('round-trips every length, without padding, as the RFC 4648 vectors say', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n))
      const text = toBase64url(bytes)
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/)
      expect(fromBase64url(text, 'x')).toEqual(bytes)
    }
    const enc = (s: string) => toBase64url(new TextEncoder().encode(s))
    expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc)).toEqual([
      '',
      'Zg',
      'Zm8',
      'Zm9v',
      'Zm9vYg',
      'Zm9vYmE',
      'Zm9vYmFy',
    ])
    expect(toBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8')
  })

  it('refuses padding, other alphabets, impossible lengths and non-canonical spellings', () => {
    expect(fieldOf(() => fromBase64url('Zg==', 'shares.0.ciphertext'))).toBe(
      '422 shares.0.ciphertext',
    )
    expect(fieldOf(() => fromBase64url('+/8', 'k'))).toBe('422 k')
    expect(fieldOf(() => fromBase64url('Zm9vY', 'k'))).toBe('422 k')
    expect(fieldOf(() => fromBase64url('Zh', 'k'))).toBe('422 k') // 'Zg' with spare bits set
    expect(fieldOf(() => fromBase64url('Zé', 'k'))).toBe('422 k')
  })
})

describe('masked update frame', () => {
  const masked = Uint32Array.from({ length: 1000 }, (_, i) => (i * 2654435761) >>> 0)
  const metadata = { round: 3, device: 'phone-1', note: 'ünïcode' }

  it('round-trips metadata and words, aligned, little-endian', () => {
    const bytes = encodeMaskedUpdate({ metadata, masked })
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('PSA1')
    expect((bytes.length - 4 * masked.length) % 4).toBe(0)
    const last = bytes.length - 4
    expect(new DataView(bytes.buffer).getUint32(last, true)).toBe(masked[999])
    const decoded = decodeMaskedUpdate(bytes, { expectedLength: 1000 })
    expect(decoded.metadata).toEqual(metadata)
    expect(decoded.masked).toEqual(masked)
    // From an unaligned copy as well.
    const shifted = new Uint8Array(bytes.length + 1).subarray(1)
    shifted.set(bytes)
    expect(decodeMaskedUpdate(shifted).masked).toEqual(masked)
  })

  it('refuses corrupt, truncated and oversized frames, naming the part', () => {
    const bytes = encodeMaskedUpdate({ metadata, masked })
    const headerEnd = 8 + new DataView(bytes.buffer).getUint32(4, true)
    const edit = (f: (b: Uint8Array) => void) => {
      const copy = bytes.slice()
      f(copy)
      return copy
    }
    const cases: [Uint8Array, string][] = [
      [bytes.subarray(0, 5), '422 magic'],
      [edit((b) => (b[0] = 0x51)), '422 magic'],
      [edit((b) => new DataView(b.buffer).setUint32(4, 1 << 20, true)), '422 header'],
      [edit((b) => new DataView(b.buffer).setUint32(4, bytes.length, true)), '422 header'],
      [edit((b) => (b[8] = 0x5b)), '422 header'],
      [edit((b) => (b[9] = 0xff)), '422 header'],
      [bytes.subarray(0, bytes.length - 4), '422 masked'],
      [bytes.subarray(0, headerEnd + 1), '422 masked'],
      [new Uint8Array([...bytes, 0, 0, 0, 0]), '422 masked'],
      [encodeMaskedUpdate({ metadata: [] as never, masked }), '422 metadata'],
    ]
    if (headerEnd % 4 !== 0) cases.push([edit((b) => (b[headerEnd] = 1)), '422 padding'])
    for (const [frame, expected] of cases)
      expect(fieldOf(() => decodeMaskedUpdate(frame))).toBe(expected)
    expect(fieldOf(() => decodeMaskedUpdate(bytes, { expectedLength: 999 }))).toBe('422 length')
  })
})
