import type { BlobStore } from '../blobs/index.ts'
import type { HeldOutRecord } from '../store/index.ts'
import { decodeHeldOut, type HeldOutExamples } from './blob.ts'

/** Held-out sets decoded from their blobs, the `size` most recently used kept, by hash. */
export function decodedSets(blobs: BlobStore, size: number) {
  const decoded = new Map<string, HeldOutExamples>()
  function remember(hash: string, examples: HeldOutExamples) {
    decoded.delete(hash)
    decoded.set(hash, examples)
    while (decoded.size > size) decoded.delete(decoded.keys().next().value!)
  }
  return {
    remember,
    forget: (hash: string) => void decoded.delete(hash),
    /** Dataset `name`'s set `heldOut`, decoded once per blob. */
    async read(name: string, heldOut: HeldOutRecord): Promise<HeldOutExamples> {
      const cached = decoded.get(heldOut.hash)
      if (cached) return cached
      const bytes = await blobs.get(heldOut.hash)
      if (!bytes) throw new Error(`the held-out set of ${name} (blob ${heldOut.hash}) is missing`)
      const examples = decodeHeldOut(bytes)
      remember(heldOut.hash, examples)
      return examples
    },
  }
}
