/** A SHA-256 as lowercase hex: how models and blobs are named. */
export const SHA256_HEX = /^[0-9a-f]{64}$/

/** SHA-256 as lowercase hex, through WebCrypto (global in Node 20, browsers and workers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}
