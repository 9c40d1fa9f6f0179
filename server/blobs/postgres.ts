import type { Pool } from 'pg'
import { SHA256_HEX, sha256Hex } from '../../shared/tensors/index.ts'
import { copyOneBytea } from './copy-out.ts'
import type { BlobStore } from './types.ts'
import { verified } from './verify.ts'

export interface PostgresBlobOptions {
  /**
   * Bytes of recently read blobs kept in memory (default 64 MB). Blobs are immutable, so a
   * cached one is never stale; it spares the database a copy of the model per device download.
   */
  cacheBytes?: number
}

/**
 * Blobs as rows of the `blobs` table (migration 003) on the PostgreSQL server every replica
 * shares: one insert is atomic, so a crash leaves the whole blob or none of it, and the database
 * is the one thing to back up. Bytes go up as a binary parameter, come back through a binary
 * COPY (copy-out.ts), and are hashed again before anyone sees them.
 */
export function postgresBlobStore(
  pool: Pool,
  { cacheBytes = 64 * 1024 * 1024 }: PostgresBlobOptions = {},
): BlobStore {
  const cache = recentBlobs(cacheBytes)
  const store: BlobStore = {
    async put(bytes) {
      const hash = await sha256Hex(bytes)
      // Asked first so that a model already stored is not sent over the wire again.
      if (await store.has(hash)) return hash
      await pool.query('insert into blobs (hash, bytes) values ($1, $2) on conflict do nothing', [
        hash,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ])
      return hash
    },
    async get(hash) {
      if (!SHA256_HEX.test(hash)) return undefined
      const cached = cache.get(hash)
      if (cached) return cached
      const client = await pool.connect()
      // A connection lost mid-copy fails the copy; its error event must not end the process.
      const ignore = () => {}
      client.on('error', ignore)
      let bytes: Buffer | undefined
      try {
        // The hash is 64 hex digits (checked above): safe in the text, as COPY takes no parameters.
        bytes = await copyOneBytea(client, `select bytes from blobs where hash = '${hash}'`)
        client.off('error', ignore)
        client.release()
      } catch (error) {
        client.off('error', ignore)
        client.release(error as Error)
        throw error
      }
      if (bytes === undefined) return undefined
      const { buffer, byteOffset, byteLength } = bytes
      return cache.set(hash, await verified(hash, new Uint8Array(buffer, byteOffset, byteLength)))
    },
    async has(hash) {
      if (!SHA256_HEX.test(hash)) return false
      if (cache.get(hash)) return true
      const { rowCount } = await pool.query('select 1 from blobs where hash = $1', [hash])
      return rowCount === 1
    },
    async delete(hash) {
      if (!SHA256_HEX.test(hash)) throw new RangeError(`not a sha256 hash: ${hash.slice(0, 80)}`)
      cache.delete(hash)
      await pool.query('delete from blobs where hash = $1', [hash])
    },
  }
  return store
}

/** Least recently used blobs up to a byte budget; one larger than the budget is not kept. */
function recentBlobs(budget: number) {
  const entries = new Map<string, Uint8Array>()
  let size = 0
  const drop = (hash: string) => {
    const bytes = entries.get(hash)
    if (bytes === undefined) return
    entries.delete(hash)
    size -= bytes.byteLength
  }
  return {
    get(hash: string) {
      const bytes = entries.get(hash)
      if (bytes !== undefined) {
        // Map order is insertion order: re-inserting marks it the most recent.
        entries.delete(hash)
        entries.set(hash, bytes)
      }
      return bytes
    },
    set(hash: string, bytes: Uint8Array) {
      if (bytes.byteLength > budget) return bytes
      drop(hash)
      entries.set(hash, bytes)
      size += bytes.byteLength
      for (const oldest of entries.keys()) {
        if (size <= budget) break
        drop(oldest)
      }
      return bytes
    },
    delete: drop,
  }
}
