import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { blobStoreSuite } from './blobs.case.ts'
import { fileBlobStore, sweepBlobTemporaries } from './file.ts'

const folder = () => mkdtemp(join(tmpdir(), 'pollen-blobs-'))

blobStoreSuite('files', async () => {
  const dir = await folder()
  return {
    blobs: fileBlobStore(dir),
    corrupt: (hash, bytes) => writeFile(join(dir, hash), bytes),
  }
})

describe('file blob store', () => {
  it('keeps one file per blob, named by its hash, and none once deleted', async () => {
    const dir = await folder()
    const blobs = fileBlobStore(dir)
    const hash = await blobs.put(new TextEncoder().encode('abc'))
    await blobs.put(new TextEncoder().encode('abc'))
    expect(await readdir(dir)).toEqual([hash])
    await blobs.delete!(hash)
    expect(await readdir(dir)).toEqual([])
  })

  it('sweeps temporaries a crash left', async () => {
    const dir = await folder()
    await writeFile(join(dir, '.tmp-half'), 'half a blob')
    expect(await sweepBlobTemporaries(dir)).toBe(1)
    expect(await readdir(dir)).toEqual([])
  })
})
