import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import {
  cohort,
  drive,
  ids,
  plainSum,
  randomVectors,
  share,
  advertise,
  viewAs,
} from './fixtures.ts'
import { quantizationError, quantize, SecAggError } from './index.ts'

const LENGTH = 1000

/** Splits `count` dropouts over the stages: a quarter after advertising, a quarter after
 *  collecting, the rest after sharing (the case whose mask keys must be rebuilt). */
function dropouts(names: string[], count: number, seed: number) {
  const shuffled = [...names]
  const random = mulberry32(seed)
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  const quarter = Math.floor(count / 4)
  const out = shuffled.slice(0, count)
  return {
    afterAdvertise: out.slice(0, quarter),
    afterCollect: out.slice(quarter, 2 * quarter),
    afterShare: out.slice(2 * quarter),
  }
}

describe('SecAgg+ end to end, in memory', () => {
  const cases = [5, 12, 40].flatMap((n) =>
    [0, 0.1, 0.3].map((rate) => ({
      n,
      rate,
      count: Math.round(n * rate),
      dropped: `${Math.round(n * rate)} dropped (${rate * 100}%)`,
    })),
  )

  it.each(cases)(
    '$n participants, $dropped: the unmasked sum is the survivors’ sum',
    async ({ n, rate, count }) => {
      const names = ids(n)
      const c = await cohort(names, { length: LENGTH, dropoutRate: rate, random: mulberry32(n) })
      const vectors = randomVectors(names, LENGTH, n + count)
      const drops = dropouts(names, count, n)
      const { collectors } = await drive(c, vectors, drops)
      const { threshold, degree } = c.round.config!
      // Five participants keep t = 3 of 4 neighbours: two dropouts are one too many.
      if (n === 5 && count === 2) {
        expect(c.round.stage).toBe('abandoned')
        expect(c.round.reason).toMatch(/has 2 of the 3 neighbours/)
        await expect(c.round.finish()).rejects.toMatchObject({ status: 409, code: 'stage' })
        return
      }
      expect(c.round.stage).toBe('unmask')
      expect(c.round.ready).toBe(true)
      const result = await c.round.finish()
      expect(c.round.stage).toBe('done')
      expect(result.survivors).toEqual([...collectors].sort())
      expect(result.count).toBe(n - drops.afterAdvertise.length - drops.afterShare.length)
      const expected = plainSum(vectors, collectors)
      const bound = quantizationError(result.count, c.round.config!.scale)
      let worst = 0
      for (let i = 0; i < LENGTH; i++)
        worst = Math.max(worst, Math.abs(result.sum[i]! - expected[i]!))
      expect(worst).toBeLessThanOrEqual(bound * (1 + 1e-9))
      // Complete graphs up to 30 participants; the threshold stays above half the neighbours.
      if (n <= 30) expect(degree).toBe(n - 1)
      expect(2 * threshold).toBeGreaterThan(degree)
    },
  )

  it('uses a sparse graph past 30 participants and still unmasks', async () => {
    const names = ids(40)
    const c = await cohort(names, { length: 64, dropoutRate: 0 })
    const vectors = randomVectors(names, 64, 1)
    await drive(c, vectors, dropouts(names, 4, 2))
    expect(c.round.config!.degree).toBe(16)
    const result = await c.round.finish()
    expect(result.count).toBe(40 - 1 - 2) // one never shared, two shared but sent nothing
  })

  it('below threshold after collecting: abandoned, and finish throws', async () => {
    const names = ids(5)
    const c = await cohort(names)
    const vectors = randomVectors(names, 16, 1)
    await drive(c, vectors, { afterShare: [names[0]!, names[1]!, names[2]!] })
    expect(c.round.stage).toBe('abandoned')
    await expect(c.round.finish()).rejects.toBeInstanceOf(SecAggError)
    expect(c.round.view(names[3]!)).toMatchObject({ stage: 'abandoned' })
  })

  it('only t − 1 reveals: finish refuses to unmask and abandons the round', async () => {
    // The server holds each survivor's masked input; without t shares of its seed b it cannot
    // take the self mask off, so neither the sum nor any single input comes out.
    const names = ids(5)
    const c = await cohort(names)
    const vectors = randomVectors(names, 16, 2)
    await drive(c, vectors, { afterCollect: names.slice(2) })
    const { threshold } = c.round.config!
    expect(threshold).toBe(3)
    expect(c.round.stage).toBe('unmask')
    expect(c.round.stats.revealed).toHaveLength(threshold - 1)
    expect(c.round.ready).toBe(false)
    await expect(c.round.finish()).rejects.toMatchObject({ status: 409, code: 'threshold' })
    expect(c.round.stage).toBe('abandoned')
    expect(c.round.reason).toMatch(/fewer than 3 shares/)
  })
})

/**
 * Pearson's χ² over 256 bins, against the critical value at α = 10⁻⁶ (Wilson–Hilferty), so a
 * correct implementation fails this about once in a million runs.
 */
function chiSquare(counts: Uint32Array | number[], total: number) {
  const expected = total / counts.length
  let x2 = 0
  for (const c of counts) x2 += (c - expected) ** 2 / expected
  const df = counts.length - 1
  const z = 4.753 // the standard normal quantile at 1 − 10⁻⁶
  const critical = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3
  return { x2, critical, uniform: x2 < critical }
}

function byteTest(words: Uint32Array) {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength)
  const counts = new Uint32Array(256)
  for (const b of bytes) counts[b]!++
  return chiSquare(counts, bytes.length)
}

function topByteTest(words: Uint32Array) {
  const counts = new Uint32Array(256)
  for (const w of words) counts[w >>> 24]!++
  return chiSquare(counts, words.length)
}

describe('what the server sees of one participant', () => {
  it('a single masked upload is indistinguishable from uniform noise (χ² on its bytes)', async () => {
    const length = 65_536
    const names = ids(3)
    const zeros = new Float32Array(length)
    const ramp = Float32Array.from({ length }, (_, i) => (i % 100) / 100)
    const vectors = new Map([
      [names[0]!, zeros],
      [names[1]!, ramp],
      [names[2]!, zeros],
    ])
    const c = await cohort(names, { length })
    advertise(c)
    c.round.closeAdvertise()
    await share(c, names)
    const { config } = c.round
    const uploads = new Map<string, Uint32Array>()
    for (const id of names.slice(0, 2)) {
      const view = viewAs(c.round.view(id), 'collect')
      uploads.set(id, await c.clients.get(id)!.mask(view, vectors.get(id)!))
    }
    for (const id of names.slice(0, 2)) {
      const masked = uploads.get(id)!
      const plain = quantize(vectors.get(id)!, config!.range, config!.scale)
      // The test can fail: the quantized input itself is nothing like noise.
      expect(byteTest(plain).uniform).toBe(false)
      expect(topByteTest(plain).uniform).toBe(false)
      expect(byteTest(masked)).toMatchObject({ uniform: true })
      expect(topByteTest(masked)).toMatchObject({ uniform: true })
    }
  })
})
