import { describe, expect, it } from 'vitest'
import { unrotateInPlace } from '../codecs/hadamard.ts'
import { mulberry32 } from '../data/random.ts'
import { advertise, cohort, drive, ids, outcome, share, viewAs } from './fixtures.ts'
import {
  blockRange,
  dequantizeRing,
  dequantizeRingSum,
  maskedBits,
  packWords,
  quantizeRing,
  ringBits,
  ringErrorBound,
  ringLength,
  ringMeanSquareBound,
  unpackWords,
} from './ring.ts'
import { decodeMaskedUpdate, encodeMaskedUpdate } from './wire.ts'

/** A vector of `length` entries with L2 norm `norm`, its mass uneven (some entries large). */
function vector(length: number, norm: number, seed: number): Float32Array {
  const random = mulberry32(seed)
  const v = Float64Array.from({ length }, (_, i) => (random() * 2 - 1) * (i % 7 === 0 ? 5 : 1))
  const scale = norm / Math.hypot(...v)
  return Float32Array.from(v, (x) => x * scale)
}

const distance = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2
  return Math.sqrt(s)
}

describe('b-bit secure aggregation: the ring', () => {
  it('has b + ⌈log₂ n⌉ bits, so n indices at the top level sum without wrapping', () => {
    expect(ringBits(2, 5)).toBe(5)
    expect(ringBits(2, 8)).toBe(5)
    expect(ringBits(2, 9)).toBe(6)
    expect(ringBits(4, 1000)).toBe(14)
    for (const bits of [1, 2, 3, 4])
      for (const n of [1, 2, 3, 7, 8, 9, 100, 255, 256, 257])
        expect(n * (2 ** bits - 1)).toBeLessThan(2 ** ringBits(bits, n))
    expect(() => ringBits(5, 3)).toThrow(/config\.bits/)
  })

  it('packs m-bit words and unpacks them back, refusing a wrong length or stray bits', () => {
    const random = mulberry32(3)
    for (const m of [2, 3, 5, 7, 8, 13, 17, 31, 32]) {
      const words = Uint32Array.from({ length: 37 }, () =>
        Math.floor(random() * 2 ** Math.min(m, 32)),
      )
      const packed = packWords(words, m)
      expect(packed.length).toBe(Math.ceil((37 * m) / 8))
      expect([...unpackWords(packed, 37, m)]).toEqual([...words])
    }
    const packed = packWords(Uint32Array.from([1, 2, 3]), 5) // 15 bits: one spare bit
    expect(() => unpackWords(packed.subarray(1), 3, 5)).toThrow(/masked/)
    packed[1]! |= 0x80
    expect(() => unpackWords(packed, 3, 5)).toThrow(/past the last word/)
  })

  it('sends masked words packed in the frame, and refuses a frame of other bits', () => {
    const masked = Uint32Array.from({ length: 1000 }, (_, i) => i % 32)
    const packed = encodeMaskedUpdate({ metadata: { examples: 1 }, masked, bits: 5 })
    const plain = encodeMaskedUpdate({ metadata: { examples: 1 }, masked })
    expect(packed.length).toBeLessThan(plain.length / 5)
    const read = decodeMaskedUpdate(packed, { expectedLength: 1000, expectedBits: 5 })
    expect([...read.masked]).toEqual([...masked])
    expect(() => decodeMaskedUpdate(packed, { expectedLength: 1000 })).toThrow(/5 bits/)
    expect(() => decodeMaskedUpdate(plain, { expectedBits: 5 })).toThrow(/32 bits/)
    expect(() =>
      decodeMaskedUpdate(packed.subarray(0, packed.length - 1), { expectedBits: 5 }),
    ).toThrow(/truncated/)
  })

  it('dequantizes a vector within its bound, clamping nothing at the clip norm', () => {
    for (const [length, bits] of [
      [3000, 1],
      [3000, 2],
      [1500, 4],
      [5, 2],
    ] as const) {
      const x = vector(length, 0.9, length + bits)
      const settings = { bits, seed: 1234, range: 1 }
      const input = quantizeRing(x, settings, mulberry32(bits))
      expect(input.indices.length).toBe(ringLength(length))
      expect(Math.max(...input.indices)).toBeLessThan(2 ** bits)
      expect(input.clamped).toBe(0)
      expect(distance(dequantizeRing(input.indices, length, settings), x)).toBeLessThan(
        ringErrorBound(length, bits, 1),
      )
    }
  })

  it('clips a vector past the norm bound before rotating it', () => {
    const x = vector(2048, 10, 5)
    const settings = { bits: 4, seed: 9, range: 1 }
    const input = quantizeRing(x, settings, mulberry32(1))
    const clipped = Float32Array.from(x, (v) => v / 10)
    expect(distance(dequantizeRing(input.indices, 2048, settings), clipped)).toBeLessThan(
      ringErrorBound(2048, 4, 1),
    )
  })

  it('clamps a rotated entry past R (biased towards zero), and counts it', () => {
    expect(blockRange(1, 1024)).toBe(1 / 8)
    expect(blockRange(1, 4)).toBe(1)
    // The vector whose rotation is one-hot: all its norm on one rotated entry, 8 × R.
    const y = new Float64Array(1024)
    y[0] = 1
    unrotateInPlace(y, 5, 0)
    const settings = { bits: 2, seed: 5, range: 1 }
    const input = quantizeRing(Float32Array.from(y), settings, mulberry32(1))
    expect(input.clamped).toBe(1)
    // What comes back along that axis is R, not 1: the clamp's bias.
    const back = dequantizeRing(input.indices, 1024, settings)
    let along = 0
    for (let i = 0; i < 1024; i++) along += back[i]! * y[i]!
    expect(along).toBeCloseTo(1 / 8, 6)
  })

  it('rounds stochastically: the mean of many quantizations is the vector (deterministic rounding is not)', () => {
    const length = 64
    const x = vector(length, 0.8, 11)
    const settings = { bits: 2, seed: 77, range: 1 }
    const trials = 4000
    const random = mulberry32(21)
    const sum = new Float64Array(length)
    for (let t = 0; t < trials; t++) {
      const q = dequantizeRing(quantizeRing(x, settings, random).indices, length, settings)
      for (let i = 0; i < length; i++) sum[i]! += q[i]!
    }
    const mean = sum.map((s) => s / trials)
    // Each rotated entry's rounding has variance at most Δ²/4; rotation keeps the total, so
    // E‖mean − x‖² ≤ (the bound for one)² / (4·trials). Six times that is far out in the tail.
    const expected = ringMeanSquareBound(length, 2, 1, trials)
    expect(distance(mean, x) ** 2).toBeLessThan(6 * expected)
    // Rounding to the nearest level instead is off by a fixed amount that many trials keep.
    const nearest = dequantizeRing(quantizeRing(x, settings, () => 0.5).indices, length, settings)
    expect(distance(nearest, x) ** 2).toBeGreaterThan(50 * expected)
  })

  it('unmasks, through a whole round, the sum of the participants’ quantized vectors', async () => {
    const names = ids(9)
    const length = 1300
    for (const bits of [1, 2]) {
      const c = await cohort(names, { length, range: 1, bits, minSurvivors: 3 })
      const vectors = new Map(names.map((id, i) => [id, vector(length, 0.7, 100 * bits + i)]))
      const { collectors } = await drive(c, vectors, { afterShare: [names[2]!] })
      const config = c.round.config!
      expect(config).toMatchObject({ bits })
      expect(maskedBits(config)).toBe(bits + 4)
      const settings = { bits, seed: config.seed!, range: 1 }
      // The server counts what the packed words took on the wire, not 4 bytes a word.
      for (const id of collectors)
        expect(c.round.stats.bytes[id]!.received).toBeLessThan(4 * ringLength(length))
      const { sum, count } = await c.round.finish()
      expect(count).toBe(8)
      const want = new Float64Array(length)
      for (const id of collectors) {
        const q = dequantizeRing(c.clients.get(id)!.input!.indices, length, settings)
        for (let i = 0; i < length; i++) want[i]! += q[i]!
      }
      expect(distance(sum, want)).toBeLessThan(1e-9)
      const truth = new Float64Array(length)
      for (const id of collectors) vectors.get(id)!.forEach((v, i) => (truth[i]! += v))
      expect(distance(sum, truth) / count).toBeLessThan(ringErrorBound(length, bits, 1))
    }
  })

  it('a participant refuses a b-bit config it cannot use, or one changed after sharing', async () => {
    const names = ids(4)
    const c = await cohort(names, { length: 64, range: 1, bits: 2, minSurvivors: 3 })
    advertise(c)
    c.round.closeAdvertise()
    const [first, second] = names as [string, string, ...string[]]
    const view = viewAs(c.round.view(first), 'share')
    const client = c.clients.get(first)!
    for (const [field, value] of [
      ['bits', 5],
      ['seed', -1],
      ['seed', 2 ** 32],
    ] as const)
      expect(
        await outcome(() => client.share({ ...view, config: { ...view.config, [field]: value } })),
      ).toBe(`422 invalid config.${field}`)
    await share(c, names)
    const collect = viewAs(c.round.view(second), 'collect')
    const other = c.clients.get(second)!
    const values = new Float32Array(64)
    const seed = (collect.config.seed! + 1) >>> 0
    expect(
      await outcome(() => other.mask({ ...collect, config: { ...collect.config, seed } }, values)),
    ).toBe('422 invalid config.seed')
    const { bits: _bits, ...fixedPoint } = collect.config
    expect(await outcome(() => other.mask({ ...collect, config: fixedPoint }, values))).toBe(
      '422 invalid config.bits',
    )
    // And a fixed-point round's participant refuses a collect view that turned b-bit.
    const plain = await cohort(names, { length: 64, range: 1, minSurvivors: 3 })
    advertise(plain)
    plain.round.closeAdvertise()
    await share(plain, names)
    const turned = viewAs(plain.round.view(second), 'collect')
    const config = { ...turned.config, bits: 2, seed: 1 }
    expect(
      await outcome(() => plain.clients.get(second)!.mask({ ...turned, config }, values)),
    ).toBe('422 invalid config.bits')
  })

  it('refuses a sum of the wrong number of words', () => {
    expect(() =>
      dequantizeRingSum(new Uint32Array(10), 1, 1300, { bits: 2, seed: 1, range: 1 }),
    ).toThrow(/sum/)
  })
})
