import { describe, expect, it } from 'vitest'
import {
  decodeMnist,
  type Digits,
  encodeMnist,
  labelHistogram,
  MnistFormatError,
  mulberry32,
  permutation,
  PIXELS_PER_EXAMPLE,
  shardDirichlet,
  shardIid,
  shardNonIid,
  subset,
} from './index.ts'

/** Synthetic digits with uneven label counts; each example's id sits in its first 3 pixel bytes. */
function fakeDigits(count: number, seed = 7): Digits {
  const random = mulberry32(seed)
  const labels = new Uint8Array(count)
  const features = new Uint8Array(count * PIXELS_PER_EXAMPLE)
  for (let i = 0; i < count; i++) {
    // Label l has weight l + 5, so counts differ between labels.
    let r = random() * 95
    let l = 0
    while (r >= l + 5) r -= l++ + 5
    labels[i] = l
    const p = i * PIXELS_PER_EXAMPLE
    features[p] = i & 255
    features[p + 1] = (i >> 8) & 255
    features[p + 2] = (i >> 16) & 255
    for (let k = 3; k < PIXELS_PER_EXAMPLE; k++) features[p + k] = Math.floor(random() * 256)
  }
  return { count, shape: [28, 28, 1], labels, features }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i])

const ids = (d: Digits): number[] =>
  Array.from({ length: d.count }, (_, i) => {
    const p = i * PIXELS_PER_EXAMPLE
    return d.features[p]! | (d.features[p + 1]! << 8) | (d.features[p + 2]! << 16)
  })

const labelsOf = (d: Digits): number[] =>
  labelHistogram(d, 10).flatMap((n, label) => (n > 0 ? [label] : []))

function expectDisjointCover(shards: Digits[], whole: Digits): void {
  const all = shards.flatMap(ids).sort((a, b) => a - b)
  expect(all).toEqual(Array.from({ length: whole.count }, (_, i) => i))
  // Each example keeps its label.
  for (const s of shards) {
    ids(s).forEach((id, k) => expect(s.labels[k]).toBe(whole.labels[id]))
  }
}

describe('random', () => {
  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const xs = Array.from({ length: 1000 }, () => a())
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(mulberry32(43)()).not.toBe(xs[0])
  })

  it('permutation is a permutation', () => {
    const p = Array.from(permutation(1000, mulberry32(1)))
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(p).not.toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })
})

describe('labelHistogram and subset', () => {
  it('histogram has 10 bins that sum to the count', () => {
    const d = fakeDigits(3000)
    const h = labelHistogram(d, 10)
    expect(h).toHaveLength(10)
    expect(h.reduce((a, b) => a + b, 0)).toBe(3000)
    expect(h.every((n) => n > 0)).toBe(true)
  })

  it('subset copies the chosen examples in order and keeps the shape', () => {
    const d = fakeDigits(50)
    const s = subset(d, [7, 3, 49])
    expect(s.count).toBe(3)
    expect(ids(s)).toEqual([7, 3, 49])
    expect(s.shape).toEqual([28, 28, 1])
    expect(Array.from(s.labels)).toEqual([d.labels[7], d.labels[3], d.labels[49]])
    s.features[10] = 255 - d.features[7 * PIXELS_PER_EXAMPLE + 10]!
    expect(d.features[7 * PIXELS_PER_EXAMPLE + 10]).not.toBe(s.features[10])
    expect(() => subset(d, [50])).toThrow(/outside/)
  })
})

describe('mnist codec', () => {
  const train = fakeDigits(120, 1)
  const test = fakeDigits(30, 2)

  it('round-trips', () => {
    const bytes = encodeMnist({ train, test })
    expect(bytes.length).toBe(24 + 150 * 785)
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('PMNS')
    const back = decodeMnist(bytes)
    for (const [got, want] of [
      [back.train, train],
      [back.test, test],
    ] as const) {
      expect({ ...got, features: null, labels: null }).toEqual({
        ...want,
        features: null,
        labels: null,
      })
      expect(same(got.features, want.features) && same(got.labels, want.labels)).toBe(true)
    }
  })

  it('decodes from a view with an offset', () => {
    const bytes = encodeMnist({ train, test })
    const padded = new Uint8Array(bytes.length + 3)
    padded.set(bytes, 3)
    expect(same(decodeMnist(padded.subarray(3)).test.features, test.features)).toBe(true)
  })

  const codeOf = (bytes: Uint8Array): string => {
    try {
      decodeMnist(bytes)
    } catch (e) {
      expect(e).toBeInstanceOf(MnistFormatError)
      return (e as MnistFormatError).code
    }
    return 'decoded'
  }

  it('rejects bad magic, version, shape, truncation, trailing bytes and labels, by code', () => {
    const good = encodeMnist({ train, test })
    const edit = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
      const b = good.slice()
      f(b, new DataView(b.buffer))
      return b
    }
    expect(codeOf(edit((b) => (b[0] = 'X'.charCodeAt(0))))).toBe('bad-magic')
    expect(codeOf(edit((_, v) => v.setUint32(4, 2, true)))).toBe('bad-version')
    expect(codeOf(edit((_, v) => v.setUint32(16, 32, true)))).toBe('bad-shape')
    expect(codeOf(good.subarray(0, 10))).toBe('truncated')
    expect(codeOf(good.subarray(0, good.length - 1))).toBe('truncated')
    expect(codeOf(edit((_, v) => v.setUint32(8, 121, true)))).toBe('truncated')
    const longer = new Uint8Array(good.length + 1)
    longer.set(good)
    expect(codeOf(longer)).toBe('trailing')
    expect(codeOf(edit((b) => (b[24 + 5] = 10)))).toBe('bad-label')
    expect(() => decodeMnist(good.subarray(0, 100))).toThrow(/mnist\.bin: .*expected 117774/)
  })
})

describe('shardIid', () => {
  const d = fakeDigits(1003)

  it('covers every example once, in near-equal shards', () => {
    const shards = shardIid(d, 10, 1)
    expect(shards).toHaveLength(10)
    expectDisjointCover(shards, d)
    const sizes = shards.map((s) => s.count)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    // IID: every shard sees most labels.
    for (const s of shards) expect(labelsOf(s).length).toBeGreaterThanOrEqual(8)
  })

  it('is deterministic given the seed', () => {
    expect(shardIid(d, 7, 5).map(ids)).toEqual(shardIid(d, 7, 5).map(ids))
    expect(shardIid(d, 7, 5).map(ids)).not.toEqual(shardIid(d, 7, 6).map(ids))
  })

  it('rejects impossible splits', () => {
    expect(() => shardIid(d, 0, 1)).toThrow(/positive integer/)
    expect(() => shardIid(subset(d, [1, 2]), 3, 1)).toThrow(/non-empty/)
  })
})

describe('shardNonIid', () => {
  const d = fakeDigits(2000)

  it('gives each of 10 clients at most 2 labels and covers every example once', () => {
    const shards = shardNonIid(d, 10, { seed: 3 })
    expect(shards).toHaveLength(10)
    expectDisjointCover(shards, d)
    for (const s of shards) expect(labelsOf(s).length).toBeLessThanOrEqual(2)
    const total = shards
      .map((s) => labelHistogram(s, 10))
      .reduce((a, h) => a.map((n, i) => n + h[i]!))
    expect(total).toEqual(labelHistogram(d, 10))
  })

  it('honours labelsPerClient and many clients', () => {
    const shards = shardNonIid(d, 50, { labelsPerClient: 1, seed: 4 })
    expectDisjointCover(shards, d)
    for (const s of shards) expect(labelsOf(s)).toHaveLength(1)
    const sizes = shards.map((s) => s.count)
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeLessThan(1.5)
  })

  it('still covers everything with fewer shards than labels', () => {
    const shards = shardNonIid(d, 2, { seed: 5 })
    expectDisjointCover(shards, d)
  })

  it('is deterministic given the seed', () => {
    expect(shardNonIid(d, 10, { seed: 9 }).map(ids)).toEqual(
      shardNonIid(d, 10, { seed: 9 }).map(ids),
    )
    expect(shardNonIid(d, 10, { seed: 9 }).map(ids)).not.toEqual(
      shardNonIid(d, 10, { seed: 10 }).map(ids),
    )
  })
})

describe('shardDirichlet', () => {
  const d = fakeDigits(3000)
  /** Mean over clients of the share of a client's examples in its most common label. */
  const skew = (shards: Digits[]): number =>
    shards.reduce((sum, s) => sum + Math.max(...labelHistogram(s, 10)) / s.count, 0) / shards.length

  it('covers every example once and leaves no client empty, even at a tiny α', () => {
    for (const alpha of [0.01, 0.5, 1000]) {
      const shards = shardDirichlet(d, 100, { alpha, seed: 1 })
      expect(shards).toHaveLength(100)
      expectDisjointCover(shards, d)
      for (const s of shards) expect(s.count).toBeGreaterThan(0)
    }
    // As many clients as examples: one each.
    const few = subset(d, range(0, 20))
    const one = shardDirichlet(few, 20, { alpha: 0.05, seed: 2 })
    expect(one.map((s) => s.count)).toEqual(Array(20).fill(1))
    expectDisjointCover(one, few)
  })

  it('skews labels at a small α and barely at a large one', () => {
    const small = skew(shardDirichlet(d, 30, { alpha: 0.1, seed: 3 }))
    const large = skew(shardDirichlet(d, 30, { alpha: 100, seed: 3 }))
    // IID on these uneven labels: the largest label is 14/95 of the examples.
    const iid = skew(shardIid(d, 30, 3))
    expect(small).toBeGreaterThan(0.6)
    expect(large).toBeLessThan(0.25)
    expect(Math.abs(large - iid)).toBeLessThan(0.05)
    const labelsHeld = (shards: Digits[]) =>
      shards.reduce((n, s) => n + labelsOf(s).length, 0) / shards.length
    expect(labelsHeld(shardDirichlet(d, 30, { alpha: 0.1, seed: 3 }))).toBeLessThan(6)
    expect(labelsHeld(shardDirichlet(d, 30, { alpha: 100, seed: 3 }))).toBe(10)
  })

  it('is deterministic given the seed', () => {
    const a = shardDirichlet(d, 10, { alpha: 0.5, seed: 9 }).map(ids)
    expect(shardDirichlet(d, 10, { alpha: 0.5, seed: 9 }).map(ids)).toEqual(a)
    expect(shardDirichlet(d, 10, { alpha: 0.5, seed: 10 }).map(ids)).not.toEqual(a)
  })

  it('refuses a bad α and impossible splits', () => {
    for (const alpha of [0, -1, Number.NaN, Infinity, 1e7]) {
      expect(() => shardDirichlet(d, 10, { alpha, seed: 1 })).toThrow(/alpha must be/)
    }
    expect(() => shardDirichlet(d, 0, { alpha: 1, seed: 1 })).toThrow(/positive integer/)
    expect(() => shardDirichlet(subset(d, [1, 2]), 3, { alpha: 1, seed: 1 })).toThrow(/non-empty/)
  })
})
