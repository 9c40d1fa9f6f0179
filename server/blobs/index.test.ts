import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileBlobStore, sweepBlobTemporaries } from './index.ts'

describe('file blob store', () => {
  it('stores by content hash, idempotently, and reads back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-blobs-'))
    const blobs = fileBlobStore(dir)
    const bytes = new TextEncoder().encode('abc')
    const hash = await blobs.put(bytes)
    expect(hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(await blobs.put(bytes)).toBe(hash)
    expect(await blobs.has(hash)).toBe(true)
    expect(new TextDecoder().decode(await blobs.get(hash))).toBe('abc')
    expect(await readdir(dir)).toEqual([hash])
  })

  it('deletes a blob, and refuses a name that is not a hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-blobs-'))
    const blobs = fileBlobStore(dir)
    const hash = await blobs.put(new TextEncoder().encode('gone'))
    await blobs.delete!(hash)
    expect(await blobs.has(hash)).toBe(false)
    await blobs.delete!(hash) // already gone: nothing to do
    await expect(blobs.delete!('../x')).rejects.toThrow(RangeError)
    expect(await readdir(dir)).toEqual([])
  })

  it('answers unknown and hostile names with nothing', async () => {
    const blobs = fileBlobStore(await mkdtemp(join(tmpdir(), 'pollen-blobs-')))
    expect(await blobs.get('0'.repeat(64))).toBeUndefined()
    expect(await blobs.get('../../etc/passwd')).toBeUndefined()
    expect(await blobs.has('../x')).toBe(false)
  })

  it('sweeps temporaries a crash left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-blobs-'))
    await writeFile(join(dir, '.tmp-half'), 'half a blob')
    expect(await sweepBlobTemporaries(dir)).toBe(1)
    expect(await readdir(dir)).toEqual([])
  })
})
