import { describe, expect, it } from 'vitest'
import {
  agree,
  checkPublicRaw,
  exportPrivateScalar,
  exportPublicRaw,
  generateKeyPair,
  importPrivateScalar,
  importPublicRaw,
} from './keys.ts'

describe('P-256 keys', () => {
  it('exports a 65-byte raw public key and a 32-byte scalar', async () => {
    const pair = await generateKeyPair()
    const raw = await exportPublicRaw(pair.publicKey)
    expect(raw.length).toBe(65)
    expect(raw[0]).toBe(4)
    expect((await exportPrivateScalar(pair.privateKey)).length).toBe(32)
  })

  it('agrees the same secret on both sides', async () => {
    const [u, v] = await Promise.all([generateKeyPair(), generateKeyPair()])
    const uv = await agree(u.privateKey, await exportPublicRaw(v.publicKey))
    const vu = await agree(v.privateKey, await exportPublicRaw(u.publicKey))
    expect(uv.length).toBe(32)
    expect(uv).toEqual(vu)
  })

  it('rebuilds a private key from d and its public point (the server, for a dropped one)', async () => {
    const [u, v] = await Promise.all([generateKeyPair(), generateKeyPair()])
    const d = await exportPrivateScalar(u.privateKey)
    const rebuilt = await importPrivateScalar(d, await exportPublicRaw(u.publicKey))
    const vRaw = await exportPublicRaw(v.publicKey)
    expect(await agree(rebuilt, vRaw)).toEqual(await agree(u.privateKey, vRaw))
  })

  it('refuses points that are not on P-256, as WebCrypto does', async () => {
    const raw = await exportPublicRaw((await generateKeyPair()).publicKey)
    expect(() => checkPublicRaw(raw, 'k')).not.toThrow()
    const offCurve = raw.slice()
    offCurve[64]! ^= 1
    expect(() => checkPublicRaw(offCurve, 'k')).toThrow(/not a point on P-256/)
    await expect(
      crypto.subtle.importKey('raw', offCurve, { name: 'ECDH', namedCurve: 'P-256' }, false, []),
    ).rejects.toThrow()
    const compressed = raw.slice()
    compressed[0] = 2
    expect(() => checkPublicRaw(compressed, 'k')).toThrow(/uncompressed/)
    expect(() => checkPublicRaw(raw.subarray(0, 64), 'k')).toThrow(/65/)
    const big = new Uint8Array(65).fill(0xff)
    big[0] = 4
    await expect(importPublicRaw(big, 'maskKey')).rejects.toMatchObject({ field: 'maskKey' })
  })
})
