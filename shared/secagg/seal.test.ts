import { describe, expect, it } from 'vitest'
import { exportPublicRaw, generateKeyPair } from './keys.ts'
import { open, seal, sealKey } from './seal.ts'

async function keys() {
  const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()])
  return {
    ab: await sealKey(a.privateKey, await exportPublicRaw(b.publicKey)),
    ba: await sealKey(b.privateKey, await exportPublicRaw(a.publicKey)),
  }
}

describe('seal', () => {
  const plain = Uint8Array.from({ length: 66 }, (_, i) => i)

  it('opens on the other side with the same route; IV first, 28 bytes of overhead', async () => {
    const { ab, ba } = await keys()
    const sealed = await seal(ab, plain, { from: 'a', to: 'b' })
    expect(sealed.length).toBe(66 + 28)
    expect(await open(ba, sealed, { from: 'a', to: 'b' })).toEqual(plain)
    // A fresh IV each time.
    expect(await seal(ab, plain, { from: 'a', to: 'b' })).not.toEqual(sealed)
  })

  it('does not open when the server swaps or redirects it', async () => {
    const { ab, ba } = await keys()
    const sealed = await seal(ab, plain, { from: 'a', to: 'b' })
    for (const route of [
      { from: 'b', to: 'a' },
      { from: 'a', to: 'c' },
      { from: 'c', to: 'b' },
      // Without JSON framing these two would read the same.
      { from: 'a","b', to: '' },
    ])
      await expect(open(ba, sealed, route, 'ciphertexts.0')).rejects.toMatchObject({
        status: 422,
        field: 'ciphertexts.0',
      })
  })

  it('does not open when tampered with or under another key', async () => {
    const { ab, ba } = await keys()
    const other = await keys()
    const sealed = await seal(ab, plain, { from: 'a', to: 'b' })
    const flipped = sealed.slice()
    flipped[20]! ^= 1
    await expect(open(ba, flipped, { from: 'a', to: 'b' })).rejects.toThrow(/does not open/)
    await expect(open(other.ba, sealed, { from: 'a', to: 'b' })).rejects.toThrow(/does not open/)
    await expect(open(ba, sealed.subarray(0, 20), { from: 'a', to: 'b' })).rejects.toThrow(/short/)
  })
})
