import { describe, expect, it } from 'vitest'
import * as codecs from './index.ts'

describe('codecs', () => {
  it('exports every codec, each taking an empty tensor to no bytes and back', () => {
    const empty = new Float32Array(0)
    expect(codecs.decodeFloat16(codecs.encodeFloat16(empty), 0)).toEqual(empty)
    const int8 = codecs.encodeInt8(empty, { seed: 0 })
    expect(int8.length).toBe(0)
    expect(codecs.decodeInt8(int8, 0)).toEqual(empty)
    const topK = codecs.encodeTopK(empty, null, 0)
    expect([topK.bytes.length, topK.residual.length]).toEqual([0, 0])
    expect(codecs.decodeTopK(topK.bytes, 0)).toEqual(empty)
    expect(codecs.MAX_ENTRIES).toBe(2 ** 27)
  })
})
