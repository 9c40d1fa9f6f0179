import { describe, expect, it } from 'vitest'
import {
  assertExamples,
  classesSeen,
  concatExamples,
  encodeMnist,
  type Examples,
  featuresAt,
  labelHistogram,
  shapeSize,
  subset,
} from './index.ts'

/** `labels.length` tabular rows of `columns` float32 values; row i holds i, i + 0.5, i + 1, … */
const rows = (columns: number, labels: number[]): Examples => ({
  count: labels.length,
  shape: [columns],
  features: Float32Array.from(
    { length: labels.length * columns },
    (_, k) => Math.floor(k / columns) + 0.5 * (k % columns),
  ),
  labels: Uint8Array.from(labels),
})

/** RGB images of `side`², example i's bytes all i. */
const images = (side: number, labels: number[]): Examples => {
  const size = side * side * 3
  const features = new Uint8Array(labels.length * size)
  labels.forEach((_, i) => features.fill(i, i * size, (i + 1) * size))
  return { count: labels.length, shape: [side, side, 3], features, labels: Uint8Array.from(labels) }
}

describe('examples of any shape', () => {
  it('subset keeps float32 features float32, and the shape', () => {
    const d = rows(3, [0, 1, 2, 1])
    const s = subset(d, [3, 1])
    expect(s.features).toBeInstanceOf(Float32Array)
    expect(s.shape).toEqual([3])
    expect(Array.from(s.features)).toEqual([3, 3.5, 4, 1, 1.5, 2])
    expect(Array.from(featuresAt(s, 1))).toEqual([1, 1.5, 2])
    expect(shapeSize([32, 32, 3])).toBe(3072)
  })

  it('concatExamples joins parts of one shape and kind, refusing others by part', () => {
    const joined = concatExamples([images(2, [0, 1]), images(2, [2])])
    expect(joined.count).toBe(3)
    expect(Array.from(joined.labels)).toEqual([0, 1, 2])
    expect(Array.from(featuresAt(joined, 2))).toEqual(Array(12).fill(0))
    expect(() => concatExamples([images(2, [0]), images(3, [0])], 'held-out')).toThrow(
      'held-out: part 1 has shape [3, 3, 3], part 0 has [2, 2, 3]',
    )
    expect(() => concatExamples([rows(12, [0]), images(2, [0])])).toThrow(
      'part 1 has shape [2, 2, 3]',
    )
    expect(() => concatExamples([rows(12, [0]), { ...images(2, [0]), shape: [12] }])).toThrow(
      'part 1 mixes byte and float32 features',
    )
    expect(() => concatExamples([])).toThrow('nothing to join')
  })

  it('labelHistogram has one bin per class and refuses a label outside them', () => {
    const d = rows(1, [0, 2, 2, 4])
    expect(labelHistogram(d, 5)).toEqual([1, 0, 2, 0, 1])
    expect(labelHistogram(d, 8)).toHaveLength(8)
    expect(classesSeen(d)).toBe(5)
    expect(() => labelHistogram(d, 4)).toThrow('label 4 at 3 is not one of 4 classes')
    expect(() => labelHistogram(d, 0)).toThrow(/positive integer/)
  })

  it('assertExamples names what is wrong', () => {
    const ok = images(2, [0, 1])
    expect(() => assertExamples(ok)).not.toThrow()
    const cases: [Examples, string][] = [
      [{ ...ok, shape: [] }, 'shape must be 1 to 4 positive integers, got []'],
      [{ ...ok, shape: [2, 2.5, 3] }, 'got [2,2.5,3]'],
      [{ ...ok, shape: [1, 1, 1, 1, 1] }, 'got [1,1,1,1,1]'],
      [{ ...ok, shape: [1024, 1024, 3] }, 'holds 3145728 values, more than 786432'],
      [{ ...ok, shape: [2, 2, 1] }, '24 feature values, expected 2 x 4 for shape [2, 2, 1]'],
      [{ ...ok, labels: Uint8Array.of(1) }, '1 labels for 2 examples'],
      [{ ...ok, features: new Int8Array(24) as unknown as Uint8Array }, 'a Uint8Array or'],
      [
        { ...rows(2, [0]), features: Float32Array.of(1, Infinity) },
        'example 0 has value Infinity at 1',
      ],
    ]
    for (const [d, message] of cases) expect(() => assertExamples(d, 'mine')).toThrow(message)
    expect(() => assertExamples(ok, 'mine', 1)).toThrow('mine: label 1 at 1 is not 0..0')
  })

  it('encodeMnist refuses anything but 28x28x1 bytes', () => {
    const digits = { ...images(28, [1]), shape: [28, 28, 1], features: new Uint8Array(784) }
    expect(() => encodeMnist({ train: digits, test: digits })).not.toThrow()
    expect(() => encodeMnist({ train: images(16, [1]), test: digits })).toThrow(
      'train: mnist.bin holds 28x28x1 bytes, not [16, 16, 3] bytes',
    )
    const floats = { ...digits, features: new Float32Array(784) }
    expect(() => encodeMnist({ train: digits, test: floats })).toThrow('float32 values')
  })
})
