import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../shared/tensors/index.ts'
import type { BlobStore } from './types.ts'
import { CorruptBlobError } from './verify.ts'

export interface BlobStoreUnderTest {
  blobs: BlobStore
  /** Rewrites the stored bytes of `hash` behind the store's back (a disk or a row gone bad). */
  corrupt: (hash: string, bytes: Uint8Array) => Promise<void>
}

/** The contract every BlobStore keeps; run against each implementation (see *.test.ts). */
export function blobStoreSuite(name: string, make: () => Promise<BlobStoreUnderTest>) {
  describe(`blob store contract: ${name}`, () => {
    it('stores by content hash, idempotently, and reads back', async () => {
      const { blobs } = await make()
      const bytes = new TextEncoder().encode('abc')
      const hash = await blobs.put(bytes)
      expect(hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
      expect(await blobs.put(bytes)).toBe(hash)
      expect(await blobs.has(hash)).toBe(true)
      expect(new TextDecoder().decode(await blobs.get(hash))).toBe('abc')
    })

    it('keeps a model-sized blob byte for byte, and the empty blob', async () => {
      const { blobs } = await make()
      const big = new Uint8Array(randomBytes(5_000_000))
      const hash = await blobs.put(big)
      expect(hash).toBe(await sha256Hex(big))
      const back = await blobs.get(hash)
      expect(back?.byteLength).toBe(big.byteLength)
      expect(Buffer.compare(back!, big)).toBe(0)
      const empty = await blobs.put(new Uint8Array(0))
      expect((await blobs.get(empty))?.byteLength).toBe(0)
    })

    it('stores a view into a larger buffer as just its bytes', async () => {
      const { blobs } = await make()
      const whole = new TextEncoder().encode('xxabcxx')
      const hash = await blobs.put(whole.subarray(2, 5))
      expect(new TextDecoder().decode(await blobs.get(hash))).toBe('abc')
    })

    it('stores the same bytes put at once exactly once', async () => {
      const { blobs } = await make()
      const bytes = new Uint8Array(randomBytes(100_000))
      const hashes = await Promise.all(Array.from({ length: 8 }, () => blobs.put(bytes)))
      expect(new Set(hashes).size).toBe(1)
      expect(Buffer.compare((await blobs.get(hashes[0]!))!, bytes)).toBe(0)
    })

    it('deletes a blob, and refuses a name that is not a hash', async () => {
      const { blobs } = await make()
      const hash = await blobs.put(new TextEncoder().encode('gone'))
      await blobs.get(hash) // a store that remembers what it read must forget it too
      await blobs.delete!(hash)
      expect(await blobs.has(hash)).toBe(false)
      expect(await blobs.get(hash)).toBeUndefined()
      await blobs.delete!(hash) // already gone: nothing to do
      await expect(blobs.delete!('../x')).rejects.toThrow(RangeError)
    })

    it('answers unknown and hostile names with nothing', async () => {
      const { blobs } = await make()
      expect(await blobs.get('0'.repeat(64))).toBeUndefined()
      expect(await blobs.has('0'.repeat(64))).toBe(false)
      expect(await blobs.get('../../etc/passwd')).toBeUndefined()
      expect(await blobs.get("'; drop table blobs; --")).toBeUndefined()
      expect(await blobs.has('../x')).toBe(false)
      expect(await blobs.has('A'.repeat(64))).toBe(false)
    })

    it('refuses to read bytes that no longer match their hash', async () => {
      const { blobs, corrupt } = await make()
      const hash = await blobs.put(new TextEncoder().encode('the model'))
      await corrupt(hash, new TextEncoder().encode('the modem'))
      const read = blobs.get(hash)
      await expect(read).rejects.toThrow(CorruptBlobError)
      await expect(read).rejects.toThrow(hash)
    })
  })
}
