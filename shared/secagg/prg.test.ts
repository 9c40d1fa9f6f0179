import { describe, expect, it } from 'vitest'
import { applyMask, expandMask, pairSign } from './prg.ts'

const seed = (fill: number) => new Uint8Array(32).fill(fill)

describe('expandMask', () => {
  it('matches the known answer (HKDF-SHA256 → AES-128-CTR over zeros, little-endian)', async () => {
    // Computed independently with Python's hmac and cryptography packages: every WebCrypto must
    // give these words, or a phone and the coordinator would disagree on every mask.
    expect([...(await expandMask(new Uint8Array(32), 4))]).toEqual([
      0x0fe6ff23, 0x860f698c, 0xaa502f1f, 0x39bb44c0,
    ])
    const counting = Uint8Array.from({ length: 32 }, (_, i) => i)
    expect([...(await expandMask(counting, 4))]).toEqual([
      0x666bc602, 0xae1870ae, 0x9e2366cb, 0xb1b6df13,
    ])
  })

  it('is deterministic, prefix-stable, and differs between seeds', async () => {
    const a = await expandMask(seed(1), 1001)
    expect(a.length).toBe(1001)
    expect(await expandMask(seed(1), 1001)).toEqual(a)
    expect((await expandMask(seed(1), 10)).every((w, i) => w === a[i])).toBe(true)
    const b = await expandMask(seed(2), 1001)
    expect(a.filter((w, i) => w === b[i]).length).toBeLessThan(3)
    expect(await expandMask(seed(1), 0)).toEqual(new Uint32Array(0))
  })

  it('refuses a seed that is not 32 bytes', async () => {
    await expect(expandMask(new Uint8Array(16), 4)).rejects.toMatchObject({ field: 'seed' })
  })

  it('expands 100,000 words in well under 10 ms once warm', async () => {
    await expandMask(seed(3), 100_000)
    const start = performance.now()
    for (let i = 0; i < 20; i++) await expandMask(seed(i), 100_000)
    expect((performance.now() - start) / 20).toBeLessThan(10)
  })
})

describe('mask arithmetic', () => {
  it('adds and subtracts modulo 2^32, and a pair cancels', () => {
    const x = new Uint32Array([0, 1, 0xffffffff])
    const m = new Uint32Array([0xffffffff, 0xffffffff, 2])
    applyMask(x, m, 1)
    expect([...x]).toEqual([0xffffffff, 0, 1])
    applyMask(x, m, -1)
    expect([...x]).toEqual([0, 1, 0xffffffff])
    expect(pairSign('a', 'b') + pairSign('b', 'a')).toBe(0)
  })
})
