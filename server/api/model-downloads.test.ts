import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeContainer, encodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import { fileBlobStore } from '../blobs/index.ts'
import { downloadRequest, modelEncoder } from './model-downloads.ts'

const model = (v: number, size = 300): NamedTensor[] => [
  { name: 'w', shape: [size], dtype: 'float32', data: new Float32Array(size).fill(v) },
]
const all = ['float32', 'float16', 'delta'] as const

async function setup(cacheEntries?: number) {
  const blobs = fileBlobStore(await mkdtemp(join(tmpdir(), 'pollen-downloads-')))
  const put = async (tensors: NamedTensor[]) => {
    const bytes = encodeContainer({ tensors })
    return { bytes, hash: await blobs.put(bytes) }
  }
  return { blobs, put, serve: modelEncoder({ blobs, ...(cacheEntries ? { cacheEntries } : {}) }) }
}

describe('model downloads', () => {
  it('reads the query: none is float32; anything else refused naming its field', () => {
    const query = (q: Record<string, string>) => downloadRequest((name) => q[name])
    const hash = 'c'.repeat(64)
    expect(query({})).toEqual({ encoding: 'float32' })
    expect(query({ encoding: 'delta', from: hash })).toEqual({
      encoding: 'delta',
      from: { hash, encoding: 'float32' },
    })
    expect(() => query({ encoding: 'x'.repeat(500) })).toThrow(/^encoding must be one of/)
    expect(() => query({ encoding: 'delta', from: hash, fromEncoding: 'delta' })).toThrow(
      /^fromEncoding/,
    )
  })

  it('serves a delta from a model held, falling back where the base is no model of its layout', async () => {
    const { put, blobs, serve } = await setup()
    const next = await put(model(0.3))
    const held = await put(model(0.1))
    const other = await put(model(0.1, 299))
    const text = await blobs.put(new TextEncoder().encode('not a model'))
    const delta = {
      encoding: 'delta' as const,
      from: { hash: held.hash, encoding: 'float32' as const },
    }
    const served = await serve(next.hash, next.bytes, delta, all)
    expect(served.encoding).toBe('delta')
    expect(decodeContainer(served.bytes).metadata.base).toBe(held.hash)
    // Computed once: the same bytes while it stays in the cache.
    expect((await serve(next.hash, next.bytes, delta, all)).bytes).toBe(served.bytes)
    for (const hash of [other.hash, text, 'd'.repeat(64)]) {
      const from = { hash, encoding: 'float32' as const }
      const fallback = await serve(next.hash, next.bytes, { encoding: 'delta', from }, all)
      expect(fallback.encoding).toBe('float16')
      const plain = await serve(next.hash, next.bytes, { encoding: 'delta', from }, [
        'float32',
        'delta',
      ])
      expect(plain).toEqual({ bytes: next.bytes, encoding: 'float32', etag: `"${next.hash}"` })
    }
    // A model past a half's range is sent as float32.
    const huge = await put(model(1e6))
    expect((await serve(huge.hash, huge.bytes, { encoding: 'float16' }, all)).encoding).toBe(
      'float32',
    )
  })

  it('keeps at most cacheEntries encodings', async () => {
    const { put, serve } = await setup(2)
    const models = await Promise.all([0.1, 0.2, 0.3].map((v) => put(model(v))))
    const first = await serve(models[0]!.hash, models[0]!.bytes, { encoding: 'float16' }, all)
    for (const m of models.slice(1)) await serve(m.hash, m.bytes, { encoding: 'float16' }, all)
    const again = await serve(models[0]!.hash, models[0]!.bytes, { encoding: 'float16' }, all)
    expect(again.bytes).toEqual(first.bytes)
    expect(again.bytes).not.toBe(first.bytes) // computed again: evicted
  })
})
