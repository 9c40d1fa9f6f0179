import { describe, expect, it } from 'vitest'
import { round } from './fixtures.ts'
import { trafficRows } from './traffic.ts'

describe('trafficRows', () => {
  it('gives a row per codec up or down, the most bytes first, then the round’s totals', () => {
    const r = round({
      bytesUp: 1_500_000,
      bytesDown: 9_000_000,
      bytesUpByCodec: { int8: 1_200_000, bbit1: 150_000, unreadable: 150_000 },
      bytesDownByEncoding: { float32: 8_000_000, float16: 1_000_000 },
    })
    expect(trafficRows(r)).toEqual([
      { codec: 'float32', up: 0, down: 8_000_000 },
      { codec: 'int8', up: 1_200_000, down: 0 },
      { codec: 'float16', up: 0, down: 1_000_000 },
      { codec: 'bbit1', up: 150_000, down: 0 },
      { codec: 'unreadable', up: 150_000, down: 0 },
      { codec: 'total', up: 1_500_000, down: 9_000_000 },
    ])
  })

  it('gives nothing for a round that moved no bytes (the table is hidden)', () => {
    expect(trafficRows(round())).toEqual([])
  })
})
