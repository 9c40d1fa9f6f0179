import { gzipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../protocol/datasets.ts'
import { encodeIdx, readIdx } from './index.ts'
import type { NamedFile, ReadLimits } from './types.ts'

const spec: DatasetSpec = {
  name: 'tiny',
  description: '',
  tags: [],
  features: { kind: 'image', height: 3, width: 2, channels: 1 },
  classes: ['a', 'b', 'c'],
  deviceLabelling: true,
}
const limits: ReadLimits = { maxExpandedBytes: 1 << 20, maxExamples: 1000 }

/** n images of 3×2 whose pixels say their index, labels i mod 3. */
function idxPair(n = 4, dims = [n, 3, 2]) {
  const pixels = Uint8Array.from({ length: n * 6 }, (_, i) => (i * 7) % 256)
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3)
  return {
    pixels,
    labels,
    images: encodeIdx(pixels, dims),
    labelsFile: encodeIdx(labels, [n]),
  }
}
const named = (name: string, bytes: Uint8Array): NamedFile => ({ name, bytes })
const problemsOf = (r: ReturnType<typeof readIdx>) => (r.ok ? [] : r.problems)

describe('readIdx', () => {
  it('reads images and labels, in either order, plain or gzipped', () => {
    const { pixels, labels, images, labelsFile } = idxPair()
    for (const files of [
      [named('i.idx', images), named('l.idx', labelsFile)],
      [named('l.gz', gzipSync(labelsFile)), named('i.gz', gzipSync(images))],
    ] as [NamedFile, NamedFile][]) {
      const r = readIdx(files, spec, limits)
      if (!r.ok) throw new Error(JSON.stringify(r.problems))
      expect(r.examples.count).toBe(4)
      expect(r.examples.shape).toEqual([3, 2, 1])
      expect(r.examples.features).toEqual(pixels)
      expect(r.examples.labels).toEqual(labels)
      expect(r.notes[0]).toMatch(/4 3×2 grayscale images/)
    }
  })

  it('copies: the examples do not alias the uploaded bytes', () => {
    const { images, labelsFile } = idxPair()
    const r = readIdx([named('i', images), named('l', labelsFile)], spec, limits)
    if (!r.ok) throw new Error('refused')
    images.fill(255)
    expect(r.examples.features[0]).toBe(0)
  })

  it('refuses a wrong magic, naming the file and the magic', () => {
    const { images, labelsFile } = idxPair()
    const bad = images.slice()
    bad[1] = 1
    const [p] = problemsOf(readIdx([named('imgs', bad), named('l', labelsFile)], spec, limits))
    expect(p).toMatchObject({ file: 'imgs', field: 'magic' })
    expect(p?.message).toBe(
      'magic 0x00010803: not an IDX images (0x00000803) or labels (0x00000801) file',
    )
    bad[1] = 0
    bad[3] = 4
    const [q] = problemsOf(readIdx([named('imgs', bad), named('l', labelsFile)], spec, limits))
    expect(q).toMatchObject({ file: 'imgs', field: 'dimensions' })
    expect(q?.message).toMatch(/magic 0x00000804: 4 dimensions; an IDX images/)
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0)
    expect(
      problemsOf(readIdx([named('x.png', png), named('l', labelsFile)], spec, limits))[0],
    ).toMatchObject({ file: 'x.png', field: 'magic' })
  })

  it('refuses values that are not unsigned bytes, saying their type', () => {
    const { images, labelsFile } = idxPair()
    const floats = images.slice()
    floats[2] = 0x0d
    const [p] = problemsOf(readIdx([named('f', floats), named('l', labelsFile)], spec, limits))
    expect(p?.message).toMatch(/type 0xd \(float\); only unsigned bytes/)
  })

  it('refuses images of other dimensions than the dataset', () => {
    const { images, labelsFile } = idxPair(4, [4, 2, 3])
    const [p] = problemsOf(readIdx([named('i', images), named('l', labelsFile)], spec, limits))
    expect(p).toMatchObject({ file: 'i', field: 'dimensions' })
    expect(p?.message).toBe('images are 2×3; dataset tiny takes 3×2')
  })

  it('refuses a 2-D images file and a 2-D labels file', () => {
    const { pixels, labels, labelsFile, images } = idxPair()
    const flat = encodeIdx(pixels, [4, 6])
    expect(
      problemsOf(readIdx([named('i', flat), named('l', labelsFile)], spec, limits))[0],
    ).toMatchObject({ file: 'i', field: 'dimensions' })
    const wide = encodeIdx(labels, [2, 2])
    expect(
      problemsOf(readIdx([named('i', images), named('l', wide)], spec, limits))[0],
    ).toMatchObject({ file: 'l', field: 'dimensions' })
  })

  it('refuses an RGB dataset: IDX is grayscale', () => {
    const { images, labelsFile } = idxPair()
    const rgb = {
      ...spec,
      features: { kind: 'image' as const, height: 3, width: 2, channels: 3 as const },
    }
    const [p] = problemsOf(readIdx([named('i', images), named('l', labelsFile)], rgb, limits))
    expect(p).toMatchObject({ file: 'i', field: 'channels' })
  })

  it('refuses a tabular dataset', () => {
    const { images, labelsFile } = idxPair()
    const tab: DatasetSpec = { ...spec, features: { kind: 'tabular', columns: [{ name: 'x' }] } }
    expect(
      problemsOf(readIdx([named('i', images), named('l', labelsFile)], tab, limits))[0]?.message,
    ).toMatch(/tabular/)
  })

  it('refuses a truncated file, a header cut short, and bytes past the end', () => {
    const { images, labelsFile } = idxPair()
    const cut = readIdx(
      [named('i', images.subarray(0, images.length - 1)), named('l', labelsFile)],
      spec,
      limits,
    )
    expect(problemsOf(cut)[0]?.message).toBe("truncated: 39 bytes, the header's 4×3×2 needs 40")
    const header = readIdx(
      [named('i', images.subarray(0, 10)), named('l', labelsFile)],
      spec,
      limits,
    )
    expect(problemsOf(header)[0]).toMatchObject({ file: 'i', field: 'dimensions' })
    const long = new Uint8Array(images.length + 3)
    long.set(images)
    expect(
      problemsOf(readIdx([named('i', long), named('l', labelsFile)], spec, limits))[0]?.message,
    ).toMatch(/^3 bytes past the 4×3×2 images/)
    expect(
      problemsOf(readIdx([named('i', new Uint8Array(2)), named('l', labelsFile)], spec, limits))[0]
        ?.message,
    ).toMatch(/too short/)
  })

  it('refuses a truncated gzip and a corrupt one', () => {
    const { images, labelsFile } = idxPair()
    const gz = gzipSync(images)
    const cut = readIdx(
      [named('i.gz', gz.subarray(0, gz.length - 12)), named('l', labelsFile)],
      spec,
      limits,
    )
    expect(problemsOf(cut)[0]).toMatchObject({ file: 'i.gz' })
    expect(problemsOf(cut)[0]?.message).toMatch(/^gzip: /)
    const junk = gz.slice()
    junk.fill(0xff, 10, 20)
    expect(
      problemsOf(readIdx([named('i.gz', junk), named('l', labelsFile)], spec, limits))[0]?.message,
    ).toMatch(/^gzip: corrupt/)
  })

  it('refuses a count mismatch between images and labels', () => {
    const { images } = idxPair()
    const labels5 = encodeIdx(new Uint8Array(5), [5])
    const [p] = problemsOf(readIdx([named('i', images), named('l', labels5)], spec, limits))
    expect(p).toMatchObject({ file: 'l', field: 'count', message: '5 labels for 4 images in i' })
  })

  it('refuses two files of the same kind', () => {
    const { images } = idxPair()
    const [p] = problemsOf(readIdx([named('a', images), named('b', images)], spec, limits))
    expect(p?.message).toMatch(/both files are IDX images files/)
  })

  it('refuses labels outside the classes, naming each index and value', () => {
    const { images } = idxPair()
    const labels = encodeIdx(Uint8Array.of(0, 3, 2, 200), [4])
    const problems = problemsOf(readIdx([named('i', images), named('l', labels)], spec, limits))
    expect(problems).toEqual([
      {
        file: 'l',
        field: 'label',
        message: 'label 3 at index 1 (0-based) is outside the 3 classes (0..2)',
      },
      {
        file: 'l',
        field: 'label',
        message: 'label 200 at index 3 (0-based) is outside the 3 classes (0..2)',
      },
    ])
  })

  it('stops at 20 problems and says so', () => {
    const n = 50
    const { images } = idxPair(n)
    const labels = encodeIdx(new Uint8Array(n).fill(9), [n])
    const problems = problemsOf(readIdx([named('i', images), named('l', labels)], spec, limits))
    expect(problems).toHaveLength(21)
    expect(problems.at(-1)?.message).toMatch(/stopped after 20 problems/)
  })

  it('refuses more examples than the limit, before reading them', () => {
    const { images, labelsFile } = idxPair()
    const [p] = problemsOf(
      readIdx([named('i', images), named('l', labelsFile)], spec, { ...limits, maxExamples: 3 }),
    )
    expect(p).toMatchObject({
      file: 'i',
      field: 'count',
      message: '4 images, more than the limit of 3',
    })
  })

  it('refuses a gzip bomb while inflating, whatever its header claims', () => {
    // 64 MiB of zeros gzip to ~64 KiB; the budget is 1 MiB.
    const bomb = gzipSync(new Uint8Array(64 << 20), { level: 9 })
    expect(bomb.length).toBeLessThan(100_000)
    const { labelsFile } = idxPair()
    const [p] = problemsOf(readIdx([named('bomb.gz', bomb), named('l', labelsFile)], spec, limits))
    expect(p).toEqual({
      file: 'bomb.gz',
      message: 'gzip: expands beyond the limit of 1,048,576 bytes',
    })
  })

  it('counts the budget across both files', () => {
    const n = 100
    const { images, labelsFile } = idxPair(n)
    const both = images.length + labelsFile.length
    const files: [NamedFile, NamedFile] = [
      named('i.gz', gzipSync(images)),
      named('l.gz', gzipSync(labelsFile)),
    ]
    expect(readIdx(files, spec, { ...limits, maxExpandedBytes: both }).ok).toBe(true)
    const [p] = problemsOf(readIdx(files, spec, { ...limits, maxExpandedBytes: both - 1 }))
    expect(p?.file).toBe('l.gz')
  })
})
