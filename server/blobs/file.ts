import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { SHA256_HEX, sha256Hex } from '../../shared/tensors/index.ts'
import type { BlobStore } from './types.ts'
import { verified } from './verify.ts'

/**
 * Files named by hash under `dir`. Written to a temporary file, fsynced, then renamed over,
 * and the folder fsynced: a crash leaves either the whole blob or none of it. Read back only
 * once the bytes hash to their name.
 */
export function fileBlobStore(dir: string): BlobStore {
  const ready = mkdir(dir, { recursive: true })
  const pathOf = (hash: string) => {
    if (!SHA256_HEX.test(hash)) throw new RangeError(`not a sha256 hash: ${hash.slice(0, 80)}`)
    return join(dir, hash)
  }
  const store: BlobStore = {
    async put(bytes) {
      await ready
      const hash = await sha256Hex(bytes)
      const path = pathOf(hash)
      if (await store.has(hash)) return hash
      const tmp = join(dir, `.tmp-${randomUUID()}`)
      try {
        const file = await open(tmp, 'wx')
        try {
          await file.writeFile(bytes)
          await file.sync()
        } finally {
          await file.close()
        }
        await rename(tmp, path)
      } catch (error) {
        await rm(tmp, { force: true })
        throw error
      }
      const folder = await open(dir, 'r')
      try {
        await folder.sync()
      } finally {
        await folder.close()
      }
      return hash
    },
    async get(hash) {
      if (!SHA256_HEX.test(hash)) return undefined
      try {
        return await verified(hash, new Uint8Array(await readFile(pathOf(hash))))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw error
      }
    },
    async delete(hash) {
      await rm(pathOf(hash), { force: true })
    },
    async has(hash) {
      if (!SHA256_HEX.test(hash)) return false
      try {
        return (await stat(pathOf(hash))).isFile()
      } catch {
        return false
      }
    },
  }
  return store
}

/** Removes temporaries a crash left behind. */
export async function sweepBlobTemporaries(dir: string): Promise<number> {
  let removed = 0
  for (const name of await readdir(dir).catch(() => [] as string[]))
    if (name.startsWith('.tmp-')) {
      await rm(join(dir, name), { force: true })
      removed++
    }
  return removed
}
