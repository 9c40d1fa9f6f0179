import type { Context } from 'hono'
import type { DatasetSpec, ErrorIssue } from '../../shared/protocol/index.ts'
import { readHeldOut, type FileProblem } from '../../shared/data/formats/index.ts'
import { invalidRequest, PollenError } from '../errors.ts'
import type { HeldOutExamples } from './blob.ts'

/**
 * Bounds on one held-out upload. The body is the files as sent (gzipped IDX, a zip); expanded,
 * what they inflate to, counted as they inflate; examples, what the coordinator keeps in memory
 * and evaluates every committed model on. The defaults hold Fashion-MNIST's or CIFAR-10's test
 * split (10,000 examples) several times over.
 */
export interface HeldOutLimits {
  maxBodyBytes: number
  maxExpandedBytes: number
  maxExamples: number
}

export const DEFAULT_HELD_OUT_LIMITS: HeldOutLimits = {
  maxBodyBytes: 64 * 1024 * 1024,
  maxExpandedBytes: 256 * 1024 * 1024,
  maxExamples: 50_000,
}

/** An uploaded file's name as messages quote it: bounded, no path. */
const fileName = (name: string) => name.split(/[\\/]/).pop()!.slice(0, 200) || '(unnamed)'

/** A format problem as an error issue: the file, entry and row kept apart, and in the message. */
export function problemIssue(p: FileProblem): ErrorIssue {
  const where = [
    `file ${p.file}`,
    ...(p.entry !== undefined ? [`entry ${p.entry}`] : []),
    ...(p.row !== undefined ? [`row ${p.row}`] : []),
    ...(p.field !== undefined ? [`field ${p.field}`] : []),
  ].join(', ')
  return {
    field: p.field ?? 'file',
    message: `${where}: ${p.message}`,
    file: p.file,
    ...(p.entry !== undefined ? { entry: p.entry } : {}),
    ...(p.row !== undefined ? { row: p.row } : {}),
  }
}

/**
 * Reads PUT …/held-out's multipart form: one or two files in the field `file` (two IDX files, a
 * zip of images in a folder per class, or a CSV), read for `spec` within `limits`. Nothing else
 * in the form is taken. Any problem is a 400 listing every one the reader found; no examples
 * come back from a body with a problem.
 */
export async function readHeldOutUpload(
  c: Context,
  spec: DatasetSpec,
  limits: HeldOutLimits,
): Promise<{ examples: HeldOutExamples; notes: string[] }> {
  const type = c.req.header('content-type') ?? ''
  if (!/^multipart\/form-data\b/i.test(type))
    throw new PollenError(
      'unsupported_media_type',
      'send the held-out files as multipart/form-data, in the field "file"',
      'content-type',
    )
  let form: FormData
  try {
    form = await c.req.raw.formData()
  } catch (error) {
    if (error instanceof PollenError) throw error
    throw new PollenError(
      'incomplete_body',
      `the multipart body could not be read: ${String(error).slice(0, 200)}`,
      '(body)',
    )
  }
  const others = [...new Set([...form.keys()].filter((k) => k !== 'file'))]
  if (others.length > 0)
    throw new PollenError(
      'invalid_request',
      `only the field "file" is read; this form also has ${others.map((k) => JSON.stringify(k.slice(0, 50))).join(', ')}`,
      others[0]!.slice(0, 50),
    )
  const entries = form.getAll('file')
  if (entries.length < 1 || entries.length > 2)
    throw new PollenError(
      'invalid_request',
      `send 1 or 2 files in the field "file" (2 IDX files, 1 zip or 1 CSV); got ${entries.length}`,
      'file',
    )
  const files: { name: string; bytes: Uint8Array }[] = []
  for (const entry of entries) {
    if (typeof entry === 'string')
      throw new PollenError('invalid_request', 'the field "file" must hold files, not text', 'file')
    files.push({ name: fileName(entry.name), bytes: new Uint8Array(await entry.arrayBuffer()) })
  }
  const resize = c.req.query('resize')
  if (resize !== undefined && resize !== 'true' && resize !== 'false')
    throw new PollenError('invalid_request', 'resize is "true" or "false"', 'resize')
  const read = readHeldOut(files, spec, {
    maxExpandedBytes: limits.maxExpandedBytes,
    maxExamples: limits.maxExamples,
    ...(resize !== undefined ? { resize: resize === 'true' } : {}),
  })
  if (!read.ok) throw invalidRequest(read.problems.slice(0, 50).map(problemIssue))
  return { examples: read.examples, notes: read.notes }
}
