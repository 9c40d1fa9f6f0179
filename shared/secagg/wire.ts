import { invalid } from './errors.ts'
import { packWords, unpackWords } from './ring.ts'

/**
 * How SecAgg+ bytes travel: base64url strings inside the JSON messages, and one binary frame for
 * a masked update. No Buffer: this runs in browsers and workers as well as in Node.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

/** base64url without padding (RFC 4648 §5), as the messages carry bytes. */
export function toBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
    out += ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}

/**
 * Decodes base64url without padding; refuses anything else (padding, other characters, a
 * dangling sixth of a byte, non-zero spare bits) with a 422 naming `field`, so each byte string
 * has exactly one spelling.
 */
export function fromBase64url(text: string, field: string): Uint8Array {
  if (text.length % 4 === 1) throw invalid(field, 'not base64url: impossible length')
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let acc = 0
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const value = code < 128 ? DECODE[code]! : -1
    if (value < 0) throw invalid(field, `not base64url: character ${JSON.stringify(text[i])}`)
    acc = ((acc << 6) | value) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw invalid(field, 'not base64url: non-zero spare bits')
  return out
}

/** The platform's typed-array byte order; every one that runs Pollen is little-endian. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Words from little-endian bytes (a copy; the byte length must be a multiple of 4). */
export function wordsFromBytes(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length >>> 2)
  if (LITTLE_ENDIAN) {
    new Uint8Array(words.buffer).set(bytes.subarray(0, words.length * 4))
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < words.length; i++) words[i] = view.getUint32(4 * i, true)
  }
  return words
}

/** Writes words as little-endian bytes into `out` at `offset`. */
function writeWords(words: Uint32Array, out: Uint8Array, offset: number): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), offset)
  } else {
    const view = new DataView(out.buffer, out.byteOffset + offset, words.byteLength)
    for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i]!, true)
  }
}

/** A masked update as it travels: opaque metadata for the coordinator, then the words. */
export interface MaskedUpdate {
  metadata: Record<string, unknown>
  masked: Uint32Array
  /** Bits a word carries on the wire: 32 (the default) or a b-bit round's ring (ring.ts). */
  bits?: number
}

const MAGIC = [0x50, 0x53, 0x41, 0x31] // 'PSA1'
/** Whether `bytes` start as a masked update does (an upload's codec, counted without reading it). */
export const isMaskedFrame = (bytes: Uint8Array): boolean =>
  bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b)
const MAX_HEADER_BYTES = 64 * 1024
/** 2^28 words (1 GiB) is far past any model a phone trains; past it the frame is refused. */
const MAX_WORDS = 2 ** 28
const FRAME = 'masked update'

/**
 * 'PSA1', the header's byte length (u32 LE), the UTF-8 JSON header `{ metadata, length }`, zero
 * padding to a multiple of 4, then `length` little-endian u32 words. The words are aligned so a
 * reader may view them in place. A b-bit round's header adds `bits` (m < 32), and the words are
 * packed m bits each, LSB-first, in ⌈length·m/8⌉ bytes.
 */
export function encodeMaskedUpdate({ metadata, masked, bits = 32 }: MaskedUpdate): Uint8Array {
  if (!Number.isInteger(bits) || bits < 2 || bits > 32) throw invalid('bits', 'not 2..32')
  const packed = bits < 32
  const header = new TextEncoder().encode(
    JSON.stringify({ metadata, length: masked.length, ...(packed ? { bits } : {}) }),
  )
  const start = align4(8 + header.length)
  const payload = packed ? packWords(masked, bits) : null
  const out = new Uint8Array(start + (payload ? payload.length : masked.byteLength))
  out.set(MAGIC, 0)
  new DataView(out.buffer).setUint32(4, header.length, true)
  out.set(header, 8)
  if (payload) out.set(payload, start)
  else writeWords(masked, out, start)
  return out
}

/**
 * Reads a frame written by encodeMaskedUpdate. Anything else (wrong magic, a header that is not
 * the JSON promised, truncation, trailing bytes, a length other than `expectedLength`, words of
 * other than `expectedBits`, 32 unless given) is a 422 naming the part at fault.
 */
export function decodeMaskedUpdate(
  bytes: Uint8Array,
  { expectedLength, expectedBits = 32 }: { expectedLength?: number; expectedBits?: number } = {},
): MaskedUpdate {
  if (bytes.length < 8) throw invalid('magic', `${FRAME}: ${bytes.length} bytes, too short`)
  if (!isMaskedFrame(bytes)) throw invalid('magic', `${FRAME}: does not start with 'PSA1'`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = view.getUint32(4, true)
  if (headerLength > MAX_HEADER_BYTES)
    throw invalid(
      'header',
      `${FRAME}: header of ${headerLength} bytes, at most ${MAX_HEADER_BYTES}`,
    )
  if (8 + headerLength > bytes.length)
    throw invalid('header', `${FRAME}: truncated inside the header`)
  let header: unknown
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    )
  } catch {
    throw invalid('header', `${FRAME}: header is not UTF-8 JSON`)
  }
  if (!isRecord(header)) throw invalid('header', `${FRAME}: header is not an object`)
  const { metadata, length, bits = 32 } = header
  if (!isRecord(metadata)) throw invalid('metadata', `${FRAME}: metadata is not an object`)
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > MAX_WORDS)
    throw invalid('length', `${FRAME}: length must be a whole number of words up to ${MAX_WORDS}`)
  if (expectedLength !== undefined && length !== expectedLength)
    throw invalid('length', `${FRAME}: ${length} words, expected ${expectedLength}`)
  if (bits !== expectedBits || (bits === 32 && 'bits' in header))
    throw invalid(
      'bits',
      `${FRAME}: words of ${String(bits)} bits, the round masks ${expectedBits}`,
    )
  const start = align4(8 + headerLength)
  for (let i = 8 + headerLength; i < Math.min(start, bytes.length); i++)
    if (bytes[i] !== 0) throw invalid('padding', `${FRAME}: padding must be zero`)
  const expected = start + (bits < 32 ? Math.ceil((length * bits) / 8) : 4 * length)
  if (bytes.length < expected)
    throw invalid('masked', `${FRAME}: truncated, ${bytes.length} of ${expected} bytes`)
  if (bytes.length > expected)
    throw invalid('masked', `${FRAME}: ${bytes.length - expected} bytes past the ${length} words`)
  if (bits < 32) return { metadata, masked: unpackWords(bytes.subarray(start), length, bits), bits }
  return { metadata, masked: wordsFromBytes(bytes.subarray(start)) }
}

const align4 = (n: number) => (n + 3) & ~3

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)
