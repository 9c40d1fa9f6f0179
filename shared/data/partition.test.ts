import { describe, expect, it } from 'vitest'
import type { Examples } from './examples.ts'
import { formatPartition, parsePartition, partitionExamples } from './partition.ts'

/** 10 classes × 40 examples of one value each, labelled in turn. */
function examples(count = 400, classes = 10): Examples {
  const labels = Uint8Array.from({ length: count }, (_, i) => i % classes)
  return { count, shape: [2], features: new Float32Array(count * 2), labels }
}

const classesOf = (d: Examples) => new Set(d.labels).size

describe('parsePartition', () => {
  it('reads iid, classes:N and dirichlet:α, and writes them back the same', () => {
    for (const text of [
      'iid',
      'classes:2',
      'classes:256',
      'dirichlet:0.5',
      'dirichlet:1000',
      'dirichlet:0.001',
    ])
      expect(formatPartition(parsePartition(text))).toBe(text)
    expect(parsePartition('classes:3')).toEqual({ kind: 'classes', perDevice: 3 })
    expect(parsePartition('dirichlet:1e-1')).toEqual({ kind: 'dirichlet', alpha: 0.1 })
  })

  it.each([
    'IID',
    'noniid',
    '',
    'classes',
    'classes:',
    'classes:0',
    'classes:2.5',
    'classes:257',
    'classes:-1',
    'dirichlet:0',
    'dirichlet:0.0001',
    'dirichlet:1001',
    'dirichlet:Infinity',
    'dirichlet:abc',
    'classes:2 ',
  ])('refuses %j, naming the flag and the syntax', (text) => {
    expect(() => parsePartition(text, '--shards')).toThrow(
      `--shards must be iid, classes:N (N = 1..256) or dirichlet:α (α = 0.001..1000), got '${text}'`,
    )
  })
})

describe('partitionExamples', () => {
  it('deals IID shards of near-equal size holding every example once', () => {
    const shards = partitionExamples(examples(), 7, { kind: 'iid' }, 1)
    expect(shards.map((s) => s.count).sort()).toEqual([57, 57, 57, 57, 57, 57, 58])
    expect(shards.every((s) => classesOf(s) > 5)).toBe(true)
  })

  it('deals at most N classes per device with classes:N', () => {
    for (const perDevice of [1, 2, 3]) {
      const shards = partitionExamples(examples(), 10, { kind: 'classes', perDevice }, 1)
      expect(shards.reduce((n, s) => n + s.count, 0)).toBe(400)
      expect(shards.every((s) => classesOf(s) <= perDevice)).toBe(true)
    }
  })

  it('skews the classes by Dirichlet(α): more at small α, every device non-empty', () => {
    const meanClasses = (alpha: number) => {
      const shards = partitionExamples(examples(4000), 20, { kind: 'dirichlet', alpha }, 3)
      expect(shards.every((s) => s.count > 0)).toBe(true)
      expect(shards.reduce((n, s) => n + s.count, 0)).toBe(4000)
      return shards.reduce((n, s) => n + classesOf(s), 0) / shards.length
    }
    expect(meanClasses(0.05)).toBeLessThan(meanClasses(100))
    expect(meanClasses(100)).toBe(10)
  })

  it('is seeded: the same seed deals the same shards', () => {
    const a = partitionExamples(examples(), 5, { kind: 'classes', perDevice: 2 }, 9)
    const b = partitionExamples(examples(), 5, { kind: 'classes', perDevice: 2 }, 9)
    expect(a.map((s) => [...s.labels])).toEqual(b.map((s) => [...s.labels]))
  })
})
