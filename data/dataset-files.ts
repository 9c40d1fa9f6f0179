// Node-only: a data scientist's files on disk (IDX, gzipped or not; a CSV; a zip of images; a
// folder of images, one folder per class) read into Examples for a declared dataset, through
// shared/data/formats' readers, the same the coordinator uses for a held-out upload.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { Examples } from '../shared/data/index.ts'
import {
  type FileProblem,
  type ImageEntry,
  type NamedFile,
  readHeldOut,
  readImageEntries,
  type ReadLimits,
  type ReadResult,
} from '../shared/data/formats/index.ts'
import type { DatasetSpec } from '../shared/protocol/datasets.ts'

/** Files in one image folder, and their bytes together: bounds on what a walk reads into memory. */
export const MAX_FOLDER_FILES = 1_000_000
export const MAX_FOLDER_DEPTH = 4

/** A FileProblem as one line: the file, the entry or row and field, and what is wrong. */
export function describeProblem(p: FileProblem): string {
  const where = [
    p.file,
    p.entry === undefined ? null : `entry ${p.entry}`,
    p.row === undefined ? null : `row ${p.row}`,
    p.field === undefined ? null : `field ${p.field}`,
  ].filter((w) => w !== null)
  return `${where.join(', ')}: ${p.message}`
}

/** Every file under `dir` (its path relative to `dir`, '/'-separated), at most MAX_FOLDER_DEPTH deep. */
async function walk(dir: string, limits: ReadLimits): Promise<ImageEntry[]> {
  const out: ImageEntry[] = []
  let bytes = 0
  const visit = async (at: string, depth: number): Promise<void> => {
    if (depth > MAX_FOLDER_DEPTH)
      throw new Error(
        `${dir}: folders nest deeper than ${MAX_FOLDER_DEPTH} at ${relative(dir, at)}`,
      )
    const entries = await readdir(at, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) await visit(path, depth + 1)
      else if (entry.isFile()) {
        if (out.length >= MAX_FOLDER_FILES)
          throw new Error(`${dir}: more than ${MAX_FOLDER_FILES} files`)
        const data = await readFile(path)
        bytes += data.byteLength
        if (bytes > limits.maxExpandedBytes)
          throw new Error(`${dir}: its files hold more than ${limits.maxExpandedBytes} bytes`)
        out.push({ path: relative(dir, path).split(sep).join('/'), bytes: new Uint8Array(data) })
      }
      // Links and devices are skipped: a folder of images holds neither.
    }
  }
  await visit(dir, 0)
  return out
}

/**
 * The examples `paths` hold for `spec`: two IDX files, one CSV, one zip, or one folder of images
 * in folders named by class. Throws an Error listing every problem the readers found (file,
 * entry or row, field), and returns nothing partial.
 */
export async function readDatasetFiles(
  paths: readonly string[],
  spec: DatasetSpec,
  limits: ReadLimits,
): Promise<Examples> {
  let result: ReadResult
  if (paths.length === 1 && (await stat(paths[0]!)).isDirectory()) {
    // A folder of images: its files as a zip's entries would be, one folder per class.
    const dir = paths[0]!
    result = readImageEntries(dir, await walk(dir, limits), spec, limits)
  } else {
    const files: NamedFile[] = []
    for (const path of paths) {
      const info = await stat(path)
      if (!info.isFile()) throw new Error(`${path}: not a file or a folder`)
      if (info.size > limits.maxExpandedBytes)
        throw new Error(`${path}: ${info.size} bytes, more than ${limits.maxExpandedBytes}`)
      files.push({ name: path, bytes: new Uint8Array(await readFile(path)) })
    }
    result = readHeldOut(files, spec, limits)
  }
  if (!result.ok)
    throw new Error(
      `${spec.name}: cannot read ${paths.join(', ')}:\n` +
        result.problems.map((p) => `  ${describeProblem(p)}`).join('\n'),
    )
  for (const note of result.notes) console.error(`${spec.name}: ${note}`)
  return result.examples
}
