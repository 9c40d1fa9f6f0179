import { HKDF_INFO, IV_BYTES, TAG_BYTES } from './constants.ts'
import { invalid } from './errors.ts'
import { agree } from './keys.ts'

/**
 * Share bundles travel through the server sealed with AES-256-GCM under a key only the two
 * participants can agree (HKDF over ECDH of their encryption keys). The sender's and the
 * receiver's ids are the additional data: a server that swaps, redirects or replays a ciphertext
 * between other participants makes it fail to open.
 */

export interface Route {
  from: string
  to: string
}

/** The key `from` and `to` both derive, each from its own private and the other's public key. */
export async function sealKey(
  privateKey: CryptoKey,
  peerPublic: CryptoKey | Uint8Array,
): Promise<CryptoKey> {
  const secret = await agree(privateKey, peerPublic)
  const base = await crypto.subtle.importKey(
    'raw',
    secret as Uint8Array<ArrayBuffer>,
    'HKDF',
    false,
    ['deriveKey'],
  )
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: SEAL_INFO },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

/** IV (12 random bytes), then ciphertext and tag. */
export async function seal(
  key: CryptoKey,
  plaintext: Uint8Array,
  route: Route,
): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: routeBytes(route) },
    key,
    plaintext as Uint8Array<ArrayBuffer>,
  )
  const out = new Uint8Array(IV_BYTES + sealed.byteLength)
  out.set(iv)
  out.set(new Uint8Array(sealed), IV_BYTES)
  return out
}

/** The plaintext, or a 422 on `field` if the bytes were not sealed with this key on this route. */
export async function open(
  key: CryptoKey,
  sealed: Uint8Array,
  route: Route,
  field = 'ciphertext',
): Promise<Uint8Array> {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw invalid(field, 'too short to be sealed')
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: sealed.subarray(0, IV_BYTES) as Uint8Array<ArrayBuffer>,
        additionalData: routeBytes(route),
      },
      key,
      sealed.subarray(IV_BYTES) as Uint8Array<ArrayBuffer>,
    )
    return new Uint8Array(plain)
  } catch {
    throw invalid(field, `does not open as sealed from ${route.from} to ${route.to}`)
  }
}

const SEAL_INFO = new TextEncoder().encode(HKDF_INFO.seal)

// JSON, so no pair of ids can spell the same bytes as another pair.
const routeBytes = ({ from, to }: Route) =>
  new TextEncoder().encode(JSON.stringify([HKDF_INFO.seal, from, to]))
