import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import {
  binomialBelow,
  buildGraph,
  degreeFor,
  FAILURE_TARGET,
  holderX,
  isConnected,
  thresholdFor,
} from './graph.ts'

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${String(i).padStart(3, '0')}`)

describe('degree and threshold', () => {
  it('uses the complete graph up to 30 participants', () => {
    for (const n of [3, 10, 30]) expect(degreeFor(n)).toBe(n - 1)
    expect(degreeFor(31, { dropoutRate: 0 })).toBeLessThan(30)
  })

  it('grows like log n, even, at least 3·log2 n', () => {
    const ks = [50, 100, 500, 1000, 10_000, 100_000].map((n) => degreeFor(n))
    for (const [i, k] of ks.entries()) {
      expect(k % 2).toBe(0)
      expect(k).toBeGreaterThanOrEqual(3 * Math.log2([50, 100, 500, 1000, 10_000, 100_000][i]!))
    }
    expect(ks).toEqual([...ks].sort((a, b) => a - b))
    expect(ks.at(-1)!).toBeLessThan(100)
  })

  it('keeps the chance of an unrecoverable participant under the target', () => {
    for (const dropoutRate of [0.05, 0.1, 0.2])
      for (const n of [100, 500, 5000]) {
        const k = degreeFor(n, { dropoutRate })
        const t = thresholdFor(k, 0.6)
        expect(n * binomialBelow(k, 1 - dropoutRate, t)).toBeLessThanOrEqual(FAILURE_TARGET)
        // And k − 2 would not do (unless k is the security floor).
        if (k - 2 >= 3 * Math.log2(n))
          expect(
            n * binomialBelow(k - 2, 1 - dropoutRate, thresholdFor(k - 2, 0.6)),
          ).toBeGreaterThan(FAILURE_TARGET)
      }
  })

  it('stops at 254 neighbours past a complete graph of 256 (GF(2^8) has 255 holders)', () => {
    expect(degreeFor(256, { dropoutRate: 0.3 })).toBe(255)
    expect(degreeFor(500, { dropoutRate: 0.3 })).toBe(254)
  })

  it('threshold: ⌈share·k⌉, above half, at least 2', () => {
    expect(thresholdFor(5, 0.6)).toBe(3)
    expect(thresholdFor(10, 0.6)).toBe(6)
    expect(thresholdFor(2, 0.6)).toBe(2)
    expect(thresholdFor(4, 0.51)).toBe(3)
    expect(() => thresholdFor(10, 0.5)).toThrow(/above 0.5/)
  })

  it('binomialBelow matches a direct sum', () => {
    const direct = (k: number, p: number, t: number) => {
      let s = 0
      for (let i = 0; i < t; i++) {
        let c = 1
        for (let j = 0; j < i; j++) c = (c * (k - j)) / (j + 1)
        s += c * p ** i * (1 - p) ** (k - i)
      }
      return s
    }
    for (const [k, p, t] of [
      [10, 0.7, 6],
      [30, 0.9, 18],
      [50, 0.5, 25],
    ] as const)
      expect(binomialBelow(k, p, t)).toBeCloseTo(direct(k, p, t), 12)
  })
})

describe('buildGraph', () => {
  const check = (graph: Map<string, string[]>, degree: number) => {
    for (const [id, neighbours] of graph) {
      expect(neighbours.length).toBe(degree)
      expect(neighbours).not.toContain(id)
      expect(new Set(neighbours).size).toBe(degree)
      for (const n of neighbours) expect(graph.get(n)).toContain(id)
    }
  }

  it('is k-regular, symmetric, without self loops', () => {
    for (const [n, k] of [
      [40, 16],
      [101, 20],
      [500, 28],
      [7, 6],
      [8, 2],
    ] as const)
      check(buildGraph(ids(n), k, mulberry32(n)), k)
  })

  it('is complete at degree n − 1 (or more)', () => {
    check(buildGraph(ids(5), 4), 4)
    check(buildGraph(ids(6), 9), 5)
  })

  it('is the same for the same seed, different for another', () => {
    const a = buildGraph(ids(60), 10, mulberry32(1))
    expect(buildGraph(ids(60), 10, mulberry32(1))).toEqual(a)
    expect(buildGraph(ids(60), 10, mulberry32(2))).not.toEqual(a)
  })

  it('refuses an odd sparse degree and repeated ids', () => {
    expect(() => buildGraph(ids(10), 3)).toThrow(/even/)
    expect(() => buildGraph(['a', 'a', 'b'], 2)).toThrow(/twice/)
  })

  it('tells a connected set from a split one; numbers holders 1..k', () => {
    // random() → 0.999 leaves the permutation as given: the ring a-b-c-d-e-f-a.
    const ring = buildGraph(['a', 'b', 'c', 'd', 'e', 'f'], 2, () => 0.999)
    expect(ring.get('a')).toEqual(['b', 'f'])
    expect(isConnected(new Set(ring.keys()), ring)).toBe(true)
    expect(isConnected(new Set(['b', 'c', 'd', 'e']), ring)).toBe(true)
    expect(isConnected(new Set(['b', 'c', 'e', 'f']), ring)).toBe(false)
    expect(holderX(['b', 'c', 'd'], 'c')).toBe(2)
  })
})
