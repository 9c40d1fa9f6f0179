import type { DatasetSpec } from '../../protocol/datasets.ts'
import { readImageArchive } from './archive.ts'
import { readCsv } from './csv.ts'
import { readIdx } from './idx.ts'
import { ByteBudget, gunzipLimited, isGzip } from './inflate.ts'
import { refuse } from './problems.ts'
import type { NamedFile, ReadLimits, ReadResult } from './types.ts'
import { isZip } from './zip.ts'

/**
 * The one entry point the coordinator and the simulator call: a held-out set (or any labelled
 * set) from the files a data scientist has, in the format their dataset's kind takes: for images
 * two IDX files (images and labels, gzipped or not) or one zip of class folders; for tabular data
 * one CSV. The format is told by the bytes (magics), names only serve messages. All or nothing:
 * the examples, or the problems (up to MAX_PROBLEMS), never some examples.
 */
export function readHeldOut(files: NamedFile[], spec: DatasetSpec, limits: ReadLimits): ReadResult {
  const bad = checkLimits(limits)
  if (bad) throw new RangeError(bad)
  const budget = new ByteBudget(limits.maxExpandedBytes)
  const result = pick(files, spec, limits, budget)
  if (result.ok && result.examples.count === 0) {
    return refuse({ file: files.map((f) => f.name).join(', '), message: 'no examples' })
  }
  return result
}

function pick(
  files: NamedFile[],
  spec: DatasetSpec,
  limits: ReadLimits,
  budget: ByteBudget,
): ReadResult {
  const names = files.map((f) => f.name).join(', ') || '(no files)'
  if (spec.features.kind === 'tabular') {
    if (files.length !== 1) {
      return refuse({
        file: names,
        message: `dataset ${spec.name} is tabular: expected one CSV file, got ${files.length} files`,
      })
    }
    return readCsv(files[0]!, spec, limits, budget)
  }
  const expected = `dataset ${spec.name} holds images: expected two IDX files (images and labels, gzipped or not) or one zip of class folders`
  if (files.length === 1 && isZip(files[0]!.bytes))
    return readImageArchive(files[0]!, spec, limits, budget)
  if (files.length === 2) return readIdx([files[0]!, files[1]!], spec, limits, budget)
  if (files.length === 1) {
    const f = files[0]!
    const what = isGzip(f.bytes) ? describeGzip(f, budget) : 'not a zip archive'
    return refuse({ file: f.name, message: `${expected}; this one file is ${what}` })
  }
  return refuse({ file: names, message: `${expected}; got ${files.length} files` })
}

/** What one gzipped file holds, for the message: one IDX file alone is the usual slip. */
function describeGzip(f: NamedFile, budget: ByteBudget): string {
  const out = gunzipLimited(f.bytes, budget)
  if (!out.ok) return `gzip that cannot be read (${out.message})`
  const b = out.bytes
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 8 && (b[3] === 1 || b[3] === 3)) {
    const [is, other] = b[3] === 1 ? ['labels', 'images'] : ['images', 'labels']
    return `one IDX ${is} file alone (give its ${other} file too)`
  }
  return 'gzip of neither IDX nor zip'
}

function checkLimits(limits: ReadLimits): string | null {
  for (const key of ['maxExpandedBytes', 'maxExamples'] as const) {
    const v = limits[key]
    if (!Number.isSafeInteger(v) || v < 0)
      return `readHeldOut: ${key} must be a non-negative integer, got ${v}`
  }
  return null
}
