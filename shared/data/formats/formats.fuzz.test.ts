import { encode as encodePng } from 'fast-png'
import fc from 'fast-check'
import { gzipSync, strToU8, zipSync } from 'fflate'
import { encode as encodeJpeg } from 'jpeg-js'
import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../protocol/datasets.ts'
import { assertExamples, shapeSize } from '../examples.ts'
import { fuzzParameters, fuzzRuns } from '../../fuzz.ts'
import { encodeIdx, MAX_PROBLEMS, readHeldOut } from './index.ts'
import type { NamedFile, ReadLimits } from './types.ts'

/**
 * Whatever bytes arrive, the readers answer and never throw: every example, consistent with the
 * dataset and within the limits, or problems that name a file given; never both, never a crash.
 * Valid files with bytes flipped, cut or inserted reach far deeper than random bytes do.
 */
const RUNS = fuzzRuns(150)
const limits: ReadLimits = { maxExpandedBytes: 1 << 20, maxExamples: 50 }

const images: DatasetSpec = {
  name: 'img',
  description: '',
  tags: [],
  features: { kind: 'image', height: 4, width: 4, channels: 3 },
  classes: ['a', 'b', 'c'],
  deviceLabelling: true,
}
const gray: DatasetSpec = {
  ...images,
  features: { kind: 'image', height: 3, width: 3, channels: 1 },
}
const tabular: DatasetSpec = {
  ...images,
  features: {
    kind: 'tabular',
    columns: [{ name: 'x', scaling: { kind: 'minmax', min: 0, max: 10 } }, { name: 'y' }],
  },
}

const pixels = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff)
const zip = zipSync({
  a: { 'p.png': encodePng({ width: 4, height: 4, channels: 3, data: pixels(48) }) },
  b: { 'q.jpg': encodeJpeg({ width: 6, height: 5, data: pixels(120) }, 80).data },
  c: { 'r.png': encodePng({ width: 2, height: 2, channels: 1, data: pixels(4) }) },
})
const idxImages = gzipSync(encodeIdx(pixels(27), [3, 3, 3]))
const idxLabels = encodeIdx(Uint8Array.of(0, 1, 2), [3])
const csv = strToU8('x,y,label\n1,2,a\n"3",4.5e1,b\n10,-1,c\n')

/** A mutation of `bytes`: some bytes overwritten, then maybe cut or grown. */
const mutated = (bytes: Uint8Array) =>
  fc
    .record({
      writes: fc.array(
        fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })),
        { maxLength: 6 },
      ),
      cut: fc.option(fc.nat({ max: bytes.length }), { freq: 4 }),
      tail: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ writes, cut, tail }) => {
      const out = Uint8Array.from(bytes)
      for (const [at, v] of writes) out[at] = v
      const kept = cut === null ? out : out.subarray(0, cut)
      const grown = new Uint8Array(kept.length + tail.length)
      grown.set(kept)
      grown.set(tail, kept.length)
      return grown
    })

function check(files: NamedFile[], spec: DatasetSpec): void {
  const r = readHeldOut(files, spec, limits)
  if (r.ok) {
    assertExamples(r.examples, 'fuzzed', spec.classes.length)
    expect(r.examples.count).toBeGreaterThan(0)
    expect(r.examples.count).toBeLessThanOrEqual(limits.maxExamples)
    expect(r.examples.features.length).toBe(r.examples.count * shapeSize(r.examples.shape))
  } else {
    expect(r.problems.length).toBeGreaterThan(0)
    expect(r.problems.length).toBeLessThanOrEqual(MAX_PROBLEMS + 1)
    const names = files.map((f) => f.name)
    for (const p of r.problems) {
      expect(p.message.length).toBeGreaterThan(0)
      expect(p.file.split(', ').every((n) => names.includes(n)) || p.file === '(no files)').toBe(
        true,
      )
    }
  }
}

describe('formats under fuzzing', () => {
  it('a mutated zip of images', () => {
    fc.assert(
      fc.property(mutated(zip), (bytes) => check([{ name: 'z.zip', bytes }], images)),
      fuzzParameters(RUNS),
    )
  })

  it('mutated IDX files, gzipped and plain', () => {
    fc.assert(
      fc.property(mutated(idxImages), mutated(idxLabels), (i, l) =>
        check(
          [
            { name: 'i.gz', bytes: i },
            { name: 'l', bytes: l },
          ],
          gray,
        ),
      ),
      fuzzParameters(RUNS),
    )
  })

  it('a mutated CSV, and any text as CSV', () => {
    fc.assert(
      fc.property(mutated(csv), (bytes) => check([{ name: 't.csv', bytes }], tabular)),
      fuzzParameters(RUNS),
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) =>
        check([{ name: 't.csv', bytes: strToU8(`x,y,label\n${text}`) }], tabular),
      ),
      fuzzParameters(RUNS),
    )
  })

  it('random bytes, one file or two, for either kind', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 2 }),
        fc.boolean(),
        (blobs, tab) =>
          check(
            blobs.map((bytes, i) => ({ name: `f${i}`, bytes })),
            tab ? tabular : images,
          ),
      ),
      fuzzParameters(RUNS),
    )
  })
})
