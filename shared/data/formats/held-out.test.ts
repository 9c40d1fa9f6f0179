import { encode as encodePng } from 'fast-png'
import { gzipSync, strToU8, zipSync, type Zippable } from 'fflate'
import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../protocol/datasets.ts'
import { assertExamples, shapeSize } from '../examples.ts'
import { encodeIdx, readHeldOut } from './index.ts'
import type { NamedFile, ReadLimits, ReadResult } from './types.ts'

const gray: DatasetSpec = {
  name: 'digits',
  description: '',
  tags: [],
  features: { kind: 'image', height: 2, width: 2, channels: 1 },
  classes: ['zero', 'one'],
  deviceLabelling: true,
}
const rgb: DatasetSpec = {
  ...gray,
  name: 'photos',
  features: { kind: 'image', height: 32, width: 32, channels: 3 },
  classes: ['cat', 'dog', 'bird'],
}
const tabular: DatasetSpec = {
  ...gray,
  name: 'sensors',
  features: { kind: 'tabular', columns: [{ name: 'x' }, { name: 'y' }] },
}
const limits: ReadLimits = { maxExpandedBytes: 64 << 20, maxExamples: 20_000 }
const file = (name: string, bytes: Uint8Array): NamedFile => ({ name, bytes })
const problems = (r: ReadResult) => (r.ok ? [] : r.problems)
/** The examples, checked against the contract every consumer of Examples relies on. */
const ok = (r: ReadResult, spec: DatasetSpec) => {
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  assertExamples(r.examples, 'read', spec.classes.length)
  expect(r.examples.features.length).toBe(r.examples.count * shapeSize(r.examples.shape))
  return r
}
const idx = () => [
  file('imgs.gz', gzipSync(encodeIdx(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7), [2, 2, 2]))),
  file('labels', encodeIdx(Uint8Array.of(1, 0), [2])),
]

describe('readHeldOut', () => {
  it('picks IDX for two files, in either order', () => {
    for (const files of [idx(), idx().reverse()]) {
      const r = ok(readHeldOut(files, gray, limits), gray)
      expect(r.examples.count).toBe(2)
      expect([...r.examples.labels]).toEqual([1, 0])
    }
  })

  it('picks a zip by its bytes, whatever its name', () => {
    const zip = zipSync({
      cat: {
        'a.png': encodePng({
          width: 32,
          height: 32,
          channels: 3,
          data: new Uint8Array(32 * 32 * 3),
        }),
      },
    })
    const r = ok(readHeldOut([file('upload.bin', zip)], rgb, limits), rgb)
    expect(r.examples.shape).toEqual([32, 32, 3])
  })

  it('picks CSV for a tabular dataset', () => {
    const r = ok(
      readHeldOut([file('t.csv', strToU8('x,y,label\n1,2,one\n'))], tabular, limits),
      tabular,
    )
    expect([...r.examples.features]).toEqual([1, 2])
  })

  it('says what it expected for the dataset kind', () => {
    expect(problems(readHeldOut([], gray, limits))).toEqual([
      {
        file: '(no files)',
        message:
          'dataset digits holds images: expected two IDX files (images and labels, gzipped or not) or one zip of class folders; got 0 files',
      },
    ])
    const [first] = idx()
    expect(problems(readHeldOut([first!], gray, limits))[0]?.message).toMatch(
      /this one file is one IDX images file alone \(give its labels file too\)$/,
    )
    expect(
      problems(readHeldOut([file('x.csv', strToU8('a,b'))], gray, limits))[0]?.message,
    ).toMatch(/this one file is not a zip archive$/)
    expect(
      problems(readHeldOut([...idx(), file('c', new Uint8Array(1))], gray, limits))[0]?.message,
    ).toMatch(/got 3 files$/)
    expect(problems(readHeldOut(idx(), tabular, limits))).toEqual([
      {
        file: 'imgs.gz, labels',
        message: 'dataset sensors is tabular: expected one CSV file, got 2 files',
      },
    ])
  })

  it('refuses an empty set', () => {
    const empty = [
      file('i', encodeIdx(new Uint8Array(0), [0, 2, 2])),
      file('l', encodeIdx(new Uint8Array(0), [0])),
    ]
    expect(problems(readHeldOut(empty, gray, limits))).toEqual([
      { file: 'i, l', message: 'no examples' },
    ])
  })

  it('shares one byte budget across the files', () => {
    const files = idx()
    // The gzipped images expand to 24 bytes; the labels are not compressed.
    expect(readHeldOut(files, gray, { ...limits, maxExpandedBytes: 24 }).ok).toBe(true)
    expect(
      problems(readHeldOut(files, gray, { ...limits, maxExpandedBytes: 23 }))[0]?.message,
    ).toMatch(/expands beyond the limit of 23 bytes/)
  })

  it('throws on limits that are no limits (a caller bug, not bad input)', () => {
    expect(() => readHeldOut(idx(), gray, { maxExpandedBytes: -1, maxExamples: 10 })).toThrow(
      /maxExpandedBytes/,
    )
    expect(() =>
      readHeldOut(idx(), gray, { maxExpandedBytes: 10, maxExamples: Number.NaN }),
    ).toThrow(/maxExamples/)
  })

  it('reads a 10,000-image zip of 32×32 PNGs in a few seconds', () => {
    const files: Zippable = {}
    for (let i = 0; i < 10_000; i++) {
      const data = new Uint8Array(32 * 32 * 3)
      for (let p = 0; p < data.length; p++) data[p] = (p * 7 + i) & 0xff
      files[`set/${rgb.classes[i % 3]}/${i}.png`] = encodePng({
        width: 32,
        height: 32,
        channels: 3,
        data,
      })
    }
    const zip = zipSync(files, { level: 1 })
    // CPU time, not wall time: the machine running the tests may be busy with other work.
    const started = process.cpuUsage()
    const r = ok(readHeldOut([file('set.zip', zip)], rgb, limits), rgb)
    const spent = process.cpuUsage(started)
    const ms = (spent.user + spent.system) / 1000
    expect(r.examples.count).toBe(10_000)
    expect(r.examples.labels[9_999]).toBe(0)
    expect(r.examples.features[9_999 * 3072 + 1]).toBe((7 + 9_999) & 0xff)
    // ~1.5 s here; the bound is generous for slower machines.
    expect(ms).toBeLessThan(8_000)
  })
})
