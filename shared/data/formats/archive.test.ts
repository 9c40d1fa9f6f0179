import { encode as encodePng } from 'fast-png'
import { strToU8, zipSync, type Zippable } from 'fflate'
import { encode as encodeJpeg } from 'jpeg-js'
import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../protocol/datasets.ts'
import { readImageArchive, readImageEntries } from './archive.ts'
import type { ReadLimits, ReadResult } from './types.ts'

const spec: DatasetSpec = {
  name: 'crops',
  description: '',
  tags: [],
  features: { kind: 'image', height: 4, width: 4, channels: 3 },
  classes: ['healthy', 'rust', 'blight'],
  deviceLabelling: true,
}
const limits: ReadLimits = { maxExpandedBytes: 1 << 20, maxExamples: 100 }

/** A width×height PNG of one RGB colour. */
const png = (rgb: [number, number, number], width = 4, height = 4) =>
  encodePng({
    width,
    height,
    channels: 3,
    data: Uint8Array.from({ length: width * height * 3 }, (_, i) => rgb[i % 3]!),
  })
const jpeg = (rgb: [number, number, number], width = 4, height = 4) =>
  encodeJpeg(
    {
      width,
      height,
      data: Uint8Array.from({ length: width * height * 4 }, (_, i) =>
        i % 4 === 3 ? 255 : rgb[i % 4]!,
      ),
    },
    100,
  ).data
const grayPng = (v: number, width = 4, height = 4) =>
  encodePng({ width, height, channels: 1, data: new Uint8Array(width * height).fill(v) })

const read = (files: Zippable, options: Partial<ReadLimits> = {}) =>
  readImageArchive({ name: 'set.zip', bytes: zipSync(files) }, spec, { ...limits, ...options })
const ok = (r: ReadResult) => {
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r
}
const problems = (r: ReadResult) => (r.ok ? [] : r.problems)

/** The central directory record of `path` in a zip (fflate writes no comment), to tamper with. */
function central(zip: Uint8Array, path: string): DataView {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength)
  const decoder = new TextDecoder()
  for (
    let at = view.getUint32(zip.length - 22 + 16, true);
    view.getUint32(at, true) === 0x02014b50;
  ) {
    const nameLength = view.getUint16(at + 28, true)
    if (decoder.decode(zip.subarray(at + 46, at + 46 + nameLength)) === path) {
      return new DataView(zip.buffer, zip.byteOffset + at)
    }
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true)
  }
  throw new Error(`no central directory record for ${path}`)
}

describe('readImageArchive', () => {
  it('reads class folders of PNG and JPEG, labels by folder, converts channels', () => {
    const r = ok(
      read({
        healthy: { 'a.png': png([0, 200, 0]), 'b.jpg': jpeg([0, 200, 0]) },
        blight: { 'c.png': grayPng(90) },
      }),
    )
    expect(r.examples.count).toBe(3)
    expect(r.examples.shape).toEqual([4, 4, 3])
    expect([...r.examples.labels]).toEqual([0, 0, 2])
    expect([...r.examples.features.subarray(0, 3)]).toEqual([0, 200, 0])
    const jpegPixel = [...r.examples.features.subarray(48, 51)]
    expect(Math.abs(jpegPixel[1]! - 200)).toBeLessThan(6)
    expect([...r.examples.features.subarray(96, 99)]).toEqual([90, 90, 90])
    expect(r.notes).toEqual([
      '3 images from set.zip',
      'converted 1 images to RGB',
      'no images for "rust"',
    ])
  })

  it('accepts one wrapper folder, and skips what operating systems add', () => {
    const r = ok(
      read({
        'my-photos': {
          healthy: { 'a.png': png([1, 2, 3]), '.DS_Store': strToU8('junk') },
          rust: { 'b.png': png([4, 5, 6]) },
        },
        __MACOSX: { 'my-photos': { healthy: { '._a.png': strToU8('resource fork') } } },
      }),
    )
    expect([...r.examples.labels]).toEqual([0, 1])
    expect(r.notes).toContain('skipped 2 hidden or system files (.DS_Store, __MACOSX…)')
  })

  it('resizes images of another size, bilinear, and says how many', () => {
    const r = ok(read({ rust: { 'big.png': png([50, 60, 70], 16, 8), 'ok.png': png([1, 1, 1]) } }))
    expect([...r.examples.features.subarray(0, 48)]).toEqual(
      Array.from({ length: 48 }, (_, i) => [50, 60, 70][i % 3]),
    )
    expect(r.notes).toContain('resized 1 of 2 images to 4×4 (bilinear; aspect not kept)')
  })

  it('refuses images of another size when resizing is off, naming each', () => {
    const r = read(
      { rust: { 'big.png': png([5, 5, 5], 16, 8), 'ok.png': png([1, 1, 1]) } },
      { resize: false },
    )
    expect(problems(r)).toEqual([
      {
        file: 'set.zip',
        entry: 'rust/big.png',
        message: '16×8 (width×height); the dataset takes 4×4 and resizing is off',
      },
    ])
  })

  it('refuses files that are not images, saying what they are', () => {
    const r = read({
      healthy: {
        'a.png': png([1, 2, 3]),
        'notes.txt': strToU8('field notes'),
        'c.gif': strToU8('GIF89a'),
      },
    })
    expect(problems(r)).toEqual([
      {
        file: 'set.zip',
        entry: 'healthy/notes.txt',
        message: 'not an image: text (PNG and JPEG are read)',
      },
      {
        file: 'set.zip',
        entry: 'healthy/c.gif',
        message: 'not an image: a GIF image (PNG and JPEG are read)',
      },
    ])
  })

  it('refuses a folder that names no class, files outside class folders, and nesting', () => {
    const r = read({
      healthy: { 'a.png': png([1, 2, 3]) },
      mildew: { 'b.png': png([1, 2, 3]) },
      'loose.png': png([1, 2, 3]),
      rust: { more: { 'c.png': png([1, 2, 3]) } },
    })
    expect(problems(r)).toEqual([
      {
        file: 'set.zip',
        entry: 'mildew/b.png',
        message: 'folder "mildew" names no class (classes: healthy, rust, blight)',
      },
      {
        file: 'set.zip',
        entry: 'loose.png',
        message: 'not in a class folder: images sit in one folder per class',
      },
      {
        file: 'set.zip',
        entry: 'rust/more/c.png',
        message: 'nested too deep: images sit directly in a class folder (rust/file)',
      },
    ])
  })

  it('refuses paths that climb out before inflating anything', () => {
    for (const [path, why] of [
      ['../evil.png', 'a ".." segment'],
      ['healthy/../../evil.png', 'a ".." segment'],
      ['/etc/evil.png', 'an absolute path'],
      ['healthy\\..\\evil.png', 'a backslash (paths use "/")'],
      ['C:/evil.png', 'a drive letter'],
      ['healthy//a.png', 'an empty or "." segment'],
    ] as const) {
      // A bomb beside it: were anything inflated first, the budget would be the problem.
      const r = read({ [path]: png([1, 1, 1]), 'healthy/zeros.png': new Uint8Array(8 << 20) })
      expect(problems(r)).toEqual([
        { file: 'set.zip', entry: path, message: `the path climbs out of the archive: ${why}` },
      ])
    }
  })

  it('refuses an archive that expands beyond the limit, counting as it inflates', () => {
    const zip = zipSync(
      { healthy: { 'a.png': png([1, 1, 1]), 'b.png': new Uint8Array(64 << 20) } },
      { level: 9 },
    )
    expect(zip.length).toBeLessThan(200_000)
    // The central directory may claim anything: it claims 10 bytes.
    central(zip, 'healthy/b.png').setUint32(24, 10, true)
    const r = readImageArchive({ name: 'bomb.zip', bytes: zip }, spec, limits)
    expect(problems(r)).toEqual([
      {
        file: 'bomb.zip',
        entry: 'healthy/b.png',
        message: 'the archive expands beyond the limit of 1,048,576 bytes',
      },
    ])
  })

  it('refuses an entry that expands past its declared size, or fails its CRC', () => {
    const zip = zipSync({ healthy: { 'a.png': png([1, 1, 1]) } })
    const lying = zip.slice()
    central(lying, 'healthy/a.png').setUint32(24, 10, true)
    expect(
      problems(readImageArchive({ name: 'z.zip', bytes: lying }, spec, limits))[0]?.message,
    ).toMatch(/^expands to \d+ bytes, not the 10 its header declares$/)
    const crc = zip.slice()
    const view = central(crc, 'healthy/a.png')
    view.setUint32(16, view.getUint32(16, true) ^ 1, true)
    expect(problems(readImageArchive({ name: 'z.zip', bytes: crc }, spec, limits))[0]).toEqual({
      file: 'z.zip',
      entry: 'healthy/a.png',
      message: 'CRC-32 mismatch: the archive is corrupt',
    })
  })

  it('refuses encrypted entries, other compression methods and symbolic links', () => {
    const zip = zipSync({ healthy: { 'a.png': png([1, 1, 1]) } })
    const encrypted = zip.slice()
    central(encrypted, 'healthy/a.png').setUint16(8, 1, true)
    expect(
      problems(readImageArchive({ name: 'z.zip', bytes: encrypted }, spec, limits))[0]?.message,
    ).toMatch(/^encrypted/)
    const bzip = zip.slice()
    central(bzip, 'healthy/a.png').setUint16(10, 12, true)
    expect(
      problems(readImageArchive({ name: 'z.zip', bytes: bzip }, spec, limits))[0]?.message,
    ).toBe('compression method 12 (bzip2) is not read: zip with deflate')
    const link = zipSync({
      healthy: { 'a.png': [strToU8('/etc/passwd'), { os: 3, attrs: 0o120777 << 16 }] },
    })
    expect(problems(readImageArchive({ name: 'z.zip', bytes: link }, spec, limits))[0]).toEqual({
      file: 'z.zip',
      entry: 'healthy/a.png',
      message: 'a symbolic link, not an image',
    })
  })

  it('refuses a truncated archive, too many entries, and more images than the limit', () => {
    const zip = zipSync({ healthy: { 'a.png': png([1, 1, 1]), 'b.png': png([1, 1, 1]) } })
    expect(
      problems(
        readImageArchive({ name: 'z.zip', bytes: zip.subarray(0, zip.length - 30) }, spec, limits),
      )[0]?.message,
    ).toMatch(/truncated/)
    const many: Zippable = {}
    for (let i = 0; i < 1200; i++) many[`healthy/${i}.png`] = new Uint8Array(0)
    expect(problems(read(many, { maxExamples: 10 }))[0]?.message).toBe(
      '1,200 entries, more than the limit of 1,037',
    )
    expect(
      problems(
        read({ healthy: { 'a.png': png([1, 1, 1]), 'b.png': png([1, 1, 1]) } }, { maxExamples: 1 }),
      )[0]?.message,
    ).toBe('2 images, more than the limit of 1')
  })

  it('refuses an archive with no images, and a tabular dataset', () => {
    expect(problems(read({ 'healthy/': new Uint8Array(0) }))[0]?.message).toBe(
      'no images in class folders (healthy, rust, blight)',
    )
    const tabular: DatasetSpec = {
      ...spec,
      features: { kind: 'tabular', columns: [{ name: 'x' }] },
    }
    expect(
      problems(
        readImageArchive(
          { name: 'z.zip', bytes: zipSync({ 'a/b.png': png([1, 1, 1]) }) },
          tabular,
          limits,
        ),
      )[0]?.message,
    ).toMatch(/tabular/)
  })
})

describe('readImageEntries', () => {
  it('reads the same layout from a list of paths and bytes', () => {
    const r = ok(
      readImageEntries(
        'photos/',
        [
          { path: 'blight/x.png', bytes: png([9, 8, 7]) },
          { path: 'photos/.hidden', bytes: new Uint8Array(1) },
        ],
        spec,
        { maxExamples: 10 },
      ),
    )
    expect([...r.examples.labels]).toEqual([2])
    expect(r.notes).toContain('skipped 1 hidden or system files (.DS_Store, __MACOSX…)')
  })

  it('judges the paths as in an archive', () => {
    const r = readImageEntries('photos/', [{ path: '../x.png', bytes: png([9, 8, 7]) }], spec, {
      maxExamples: 10,
    })
    expect(problems(r)).toEqual([
      {
        file: 'photos/',
        entry: '../x.png',
        message: 'the path climbs out of the archive: a ".." segment',
      },
    ])
  })
})
