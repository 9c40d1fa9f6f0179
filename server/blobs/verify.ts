import { sha256Hex } from '../../shared/tensors/index.ts'

/** Stored bytes that no longer hash to their key: a wrong model must never be served as right. */
export class CorruptBlobError extends Error {
  constructor(
    readonly hash: string,
    readonly actual: string,
  ) {
    super(`blob ${hash} is corrupt: its bytes hash to ${actual}`)
    this.name = 'CorruptBlobError'
  }
}

/** The bytes read for `hash`, once they are shown to hash to it. */
export async function verified(hash: string, bytes: Uint8Array): Promise<Uint8Array> {
  const actual = await sha256Hex(bytes)
  if (actual !== hash) throw new CorruptBlobError(hash, actual)
  return bytes
}
