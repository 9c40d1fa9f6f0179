import { describe, expect, it } from 'vitest'
import { oneField } from './copy-out.ts'

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff])
const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const header = (extension = Buffer.alloc(0)) =>
  Buffer.concat([SIGNATURE, int32(0), int32(extension.length), extension])
const field = (bytes: Buffer) => Buffer.concat([int16(1), int32(bytes.length), bytes])
const TRAILER = int16(-1)

describe('binary COPY of one bytea', () => {
  it('reads the field of one row, past a header extension', () => {
    const bytes = Buffer.from([0, 1, 2, 255])
    expect(oneField(Buffer.concat([header(), field(bytes), TRAILER]))).toEqual(bytes)
    const extended = Buffer.concat([header(Buffer.from('ext')), field(bytes), TRAILER])
    expect(oneField(extended)).toEqual(bytes)
    expect(oneField(Buffer.concat([header(), field(Buffer.alloc(0)), TRAILER]))).toEqual(
      Buffer.alloc(0),
    )
  })

  it('answers no row, and a NULL, with nothing', () => {
    expect(oneField(Buffer.concat([header(), TRAILER]))).toBeUndefined()
    expect(oneField(Buffer.concat([header(), int16(1), int32(-1), TRAILER]))).toBeUndefined()
  })

  it('refuses what is not one field of one row', () => {
    const row = field(Buffer.from('abc'))
    expect(() => oneField(Buffer.from('not a copy at all, no'))).toThrow(/no signature/)
    expect(() => oneField(Buffer.concat([header(), int16(2), TRAILER]))).toThrow(/2 fields/)
    expect(() => oneField(Buffer.concat([header(), row.subarray(0, 8)]))).toThrow(/past the end/)
    expect(() => oneField(Buffer.concat([header(), row, row, TRAILER]))).toThrow(/more than one/)
  })
})
