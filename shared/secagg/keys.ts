import { PUBLIC_KEY_BYTES, SECRET_BYTES } from './constants.ts'
import { invalid } from './errors.ts'
import { fromBase64url, toBase64url } from './wire.ts'

/**
 * P-256 ECDH through WebCrypto. A participant's private scalar d is exported so it can be shared
 * (the mask key's, for the server to rebuild a dropped participant's pairwise masks) and imported
 * again from d and the advertised public point.
 */

const ALGORITHM = { name: 'ECDH', namedCurve: 'P-256' } as const

/** A fresh key pair; extractable, because d is what gets shared. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, ['deriveBits'])
}

/** The public key, raw uncompressed: 0x04, x, y (65 bytes). */
export async function exportPublicRaw(publicKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('raw', publicKey))
}

/** The private scalar d, 32 big-endian bytes. */
export async function exportPrivateScalar(privateKey: CryptoKey): Promise<Uint8Array> {
  const { d } = await crypto.subtle.exportKey('jwk', privateKey)
  if (d === undefined) throw new Error('WebCrypto exported a private key without d')
  return leftPad(fromBase64url(d, 'd'), SECRET_BYTES)
}

/**
 * A public key from its raw form, checked first to be a point on P-256 (WebCrypto would refuse it
 * too, but only asynchronously and without saying why).
 */
export async function importPublicRaw(raw: Uint8Array, field = 'publicKey'): Promise<CryptoKey> {
  checkPublicRaw(raw, field)
  return crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, ALGORITHM, false, [])
}

/** A private key rebuilt from its scalar d and the public point it advertised. */
export async function importPrivateScalar(
  d: Uint8Array,
  publicRaw: Uint8Array,
): Promise<CryptoKey> {
  if (d.length !== SECRET_BYTES) throw invalid('d', `${d.length} bytes, not ${SECRET_BYTES}`)
  checkPublicRaw(publicRaw, 'publicKey')
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: 'P-256',
    x: toBase64url(publicRaw.subarray(1, 33)),
    y: toBase64url(publicRaw.subarray(33, 65)),
    d: toBase64url(d),
  }
  try {
    return await crypto.subtle.importKey('jwk', jwk, ALGORITHM, false, ['deriveBits'])
  } catch {
    throw invalid('d', 'not a P-256 private key for this public key')
  }
}

/** The ECDH shared secret (the x-coordinate of d·Q), 32 bytes. */
export async function agree(
  privateKey: CryptoKey,
  publicKey: CryptoKey | Uint8Array,
): Promise<Uint8Array> {
  const peer = publicKey instanceof Uint8Array ? await importPublicRaw(publicKey) : publicKey
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 8 * SECRET_BYTES),
  )
}

/** Refuses (422 on `field`) anything but a raw uncompressed point on P-256. */
export function checkPublicRaw(raw: Uint8Array, field: string): void {
  if (raw.length !== PUBLIC_KEY_BYTES)
    throw invalid(field, `${raw.length} bytes, a raw P-256 point has ${PUBLIC_KEY_BYTES}`)
  if (raw[0] !== 0x04) throw invalid(field, 'not an uncompressed point (first byte 0x04)')
  if (!isOnP256(raw)) throw invalid(field, 'not a point on P-256')
}

// P-256 (FIPS 186-4 D.1.2.3): y² = x³ − 3x + b over GF(p). Its cofactor is 1, so every point
// on the curve other than infinity (which has no raw form) is in the group.
const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn

function isOnP256(raw: Uint8Array): boolean {
  const x = bigint(raw.subarray(1, 33))
  const y = bigint(raw.subarray(33, 65))
  if (x >= P || y >= P) return false
  return (y * y - (x * x * x - 3n * x + B)) % P === 0n
}

function bigint(bytes: Uint8Array): bigint {
  let n = 0n
  for (const byte of bytes) n = (n << 8n) | BigInt(byte)
  return n
}

function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length === length) return bytes
  if (bytes.length > length) throw new Error(`a ${bytes.length}-byte scalar for P-256`)
  const out = new Uint8Array(length)
  out.set(bytes, length - bytes.length)
  return out
}
