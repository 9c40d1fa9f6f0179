import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { encode } from 'fast-png'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeIdx } from '../shared/data/formats/index.ts'
import type { DatasetSpec } from '../shared/protocol/datasets.ts'
import { describeProblem, readDatasetFiles } from './dataset-files.ts'

const spec: DatasetSpec = {
  name: 'tiny',
  description: '',
  tags: [],
  features: { kind: 'image', height: 2, width: 3, channels: 1 },
  classes: ['a', 'b', 'c'],
  deviceLabelling: true,
}
const limits = { maxExpandedBytes: 1 << 20, maxExamples: 1000 }

describe('readDatasetFiles', () => {
  let dir: string
  const pixels = Uint8Array.from({ length: 4 * 6 }, (_, i) => i * 10)
  const labels = Uint8Array.from([0, 1, 2, 1])
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pollen-files-'))
    await writeFile(join(dir, 'images.idx.gz'), gzipSync(encodeIdx(pixels, [4, 2, 3])))
    await writeFile(join(dir, 'labels.idx'), encodeIdx(labels, [4]))
    await writeFile(join(dir, 'bad-labels.idx'), encodeIdx(Uint8Array.from([0, 1, 7, 1]), [4]))
    // A folder of images, one folder per class: 'a' holds two, 'c' one, 'b' none.
    const png = (value: number) =>
      encode({ width: 3, height: 2, channels: 1, depth: 8, data: new Uint8Array(6).fill(value) })
    await mkdir(join(dir, 'folder', 'a'), { recursive: true })
    await mkdir(join(dir, 'folder', 'c'), { recursive: true })
    await writeFile(join(dir, 'folder', 'a', '1.png'), png(10))
    await writeFile(join(dir, 'folder', 'a', '2.png'), png(20))
    await writeFile(join(dir, 'folder', 'c', '3.png'), png(30))
    await mkdir(join(dir, 'bad-folder', 'zebra'), { recursive: true })
    await writeFile(join(dir, 'bad-folder', 'zebra', '1.png'), png(10))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('reads two IDX files from disk, one gzipped, as the dataset says', async () => {
    const examples = await readDatasetFiles(
      [join(dir, 'labels.idx'), join(dir, 'images.idx.gz')],
      spec,
      limits,
    )
    expect(examples.count).toBe(4)
    expect(examples.shape).toEqual([2, 3, 1])
    expect([...examples.features]).toEqual([...pixels])
    expect([...examples.labels]).toEqual([...labels])
  })

  it("lists the readers' problems, each naming the file and the field", async () => {
    const bad = readDatasetFiles(
      [join(dir, 'images.idx.gz'), join(dir, 'bad-labels.idx')],
      spec,
      limits,
    )
    await expect(bad).rejects.toThrow(
      `${join(dir, 'bad-labels.idx')}, field label: label 7 at index 2 (0-based) is outside the 3 classes (0..2)`,
    )
    const wide = readDatasetFiles(
      [join(dir, 'images.idx.gz'), join(dir, 'labels.idx')],
      { ...spec, features: { kind: 'image', height: 2, width: 4, channels: 1 } },
      limits,
    )
    await expect(wide).rejects.toThrow('field dimensions: images are 2×3; dataset tiny takes 2×4')
  })

  it('refuses a path that is missing, and files over the byte limit, before reading them', async () => {
    await expect(
      readDatasetFiles([join(dir, 'nothing.idx'), join(dir, 'labels.idx')], spec, limits),
    ).rejects.toThrow('ENOENT')
    await expect(
      readDatasetFiles([join(dir, 'images.idx.gz'), join(dir, 'labels.idx')], spec, {
        ...limits,
        maxExpandedBytes: 20,
      }),
    ).rejects.toThrow(/images\.idx\.gz: \d+ bytes, more than 20/)
  })

  it('reads a folder of images in one folder per class, and names a folder that is no class', async () => {
    const examples = await readDatasetFiles([join(dir, 'folder')], spec, limits)
    expect(examples.count).toBe(3)
    expect(examples.shape).toEqual([2, 3, 1])
    expect([...examples.labels].sort()).toEqual([0, 0, 2])
    const sums = [0, 1, 2].map((i) => examples.features[i * 6]! + 100 * examples.labels[i]!)
    expect(sums.sort((a, b) => a - b)).toEqual([10, 20, 230])
    await expect(readDatasetFiles([join(dir, 'bad-folder')], spec, limits)).rejects.toThrow('zebra')
  })

  it('says where a problem is in one line', () => {
    expect(describeProblem({ file: 'a.zip', entry: 'cat/1.png', message: 'not an image' })).toBe(
      'a.zip, entry cat/1.png: not an image',
    )
    expect(describeProblem({ file: 'b.csv', row: 3, field: 'height', message: 'missing' })).toBe(
      'b.csv, row 3, field height: missing',
    )
  })
})
