import { HKDF_INFO, SECRET_BYTES } from './constants.ts'
import { invalid } from './errors.ts'
import { LITTLE_ENDIAN, wordsFromBytes } from './wire.ts'

/**
 * The mask generator: HKDF-SHA256 turns a 32-byte seed (a self-mask seed or an ECDH secret) into
 * an AES-128-CTR key, and the keystream over `length` words is the mask. Deterministic for a seed,
 * the same in every WebCrypto, and the dominant cost of SecAgg+, so the whole keystream comes
 * from one encrypt call over a reused buffer of zeros.
 */
export async function expandMask(seed: Uint8Array, length: number): Promise<Uint32Array> {
  if (seed.length !== SECRET_BYTES)
    throw invalid('seed', `${seed.length} bytes, not ${SECRET_BYTES}`)
  if (!Number.isInteger(length) || length < 0) throw invalid('length', 'not a whole number')
  if (length === 0) return new Uint32Array(0)
  const base = await crypto.subtle.importKey(
    'raw',
    seed as Uint8Array<ArrayBuffer>,
    'HKDF',
    false,
    ['deriveKey'],
  )
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: NO_SALT, info: MASK_INFO },
    base,
    { name: 'AES-CTR', length: 128 },
    false,
    ['encrypt'],
  )
  const stream = await crypto.subtle.encrypt(
    // A fresh key per seed, so the counter may start at zero; 64 counter bits never wrap here.
    { name: 'AES-CTR', counter: new Uint8Array(16), length: 64 },
    key,
    zeros(4 * length),
  )
  // The keystream's own buffer becomes the mask: no copy on little-endian platforms.
  return LITTLE_ENDIAN ? new Uint32Array(stream) : wordsFromBytes(new Uint8Array(stream))
}

/** Mask arithmetic modulo 2^32 (typed-array stores wrap): `into` += `mask`, or −= it. */
export function applyMask(into: Uint32Array, mask: Uint32Array, sign: 1 | -1): void {
  if (sign === 1) for (let i = 0; i < into.length; i++) into[i]! += mask[i]!
  else for (let i = 0; i < into.length; i++) into[i]! -= mask[i]!
}

// RFC 5869: no salt means HashLen zero bytes; spelled out so every implementation agrees.
const NO_SALT = new Uint8Array(32)
const MASK_INFO = new TextEncoder().encode(HKDF_INFO.mask)

/** A view of `bytes` zeros, shared by every call (encrypt only reads it). */
let zeroBuffer = new Uint8Array(0)
function zeros(bytes: number): Uint8Array<ArrayBuffer> {
  if (zeroBuffer.length < bytes) zeroBuffer = new Uint8Array(bytes)
  return zeroBuffer.subarray(0, bytes)
}

/**
 * The sign participant `self` gives the mask it shares with `other`: the smaller id adds it, the
 * larger subtracts it, so the pair cancels in the sum. Ids compare by UTF-16 code units, as
 * JavaScript's `<` does, on every side.
 */
export const pairSign = (self: string, other: string): 1 | -1 => (self < other ? 1 : -1)
