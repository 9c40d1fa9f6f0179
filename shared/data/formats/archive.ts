import type { DatasetSpec, ImageFeatures } from '../../protocol/datasets.ts'
import { decodeImage, resizeBilinear, toChannels } from './image.ts'
import { ByteBudget } from './inflate.ts'
import { classifyPath } from './paths.ts'
import { count, Problems, refuse } from './problems.ts'
import type { NamedFile, ReadLimits, ReadResult } from './types.ts'
import { listZip, readZipEntry, ZipError } from './zip.ts'

/**
 * Images in one folder per class (the folder's name is the class's), PNG or JPEG, from a zip or
 * from a list of {path, bytes} (a folder on disk). One wrapper folder above the class folders is
 * fine. Each image is brought to the dataset's channels and, unless `resize: false`, its size.
 */
export interface ImageEntry {
  path: string
  bytes: Uint8Array
}

export interface ImageEntriesOptions {
  maxExamples: number
  /** Images of another size: resized bilinear (the default), or refused. */
  resize?: boolean
}

/** Entries a zip may list beyond its images: folders, a wrapper, what an OS adds. */
const EXTRA_ENTRIES = 1024

export function readImageArchive(
  file: NamedFile,
  spec: DatasetSpec,
  limits: ReadLimits,
  budget = new ByteBudget(limits.maxExpandedBytes),
): ReadResult {
  const problems = new Problems()
  const entries: ImageEntry[] = []
  let skipped = 0
  try {
    const listed = listZip(file.bytes, limits.maxExamples + spec.classes.length + EXTRA_ENTRIES)
    // Every path is judged before any byte is inflated.
    for (const e of listed) {
      const kind = classifyPath(e.path)
      if (kind.kind === 'climbs')
        problems.add({
          file: file.name,
          entry: e.path,
          message: `the path climbs out of the archive: ${kind.why}`,
        })
      if (problems.full) return problems.result()
    }
    if (problems.any) return problems.result()
    for (const e of listed) {
      const kind = classifyPath(e.path).kind
      if (kind === 'skip') skipped += 1
      if (kind !== 'file') continue
      entries.push({ path: e.path, bytes: readZipEntry(file.bytes, e, budget) })
    }
  } catch (e) {
    if (!(e instanceof ZipError)) throw e
    return refuse({
      file: file.name,
      ...(e.entry === undefined ? {} : { entry: e.entry }),
      message: e.message,
    })
  }
  const resize = limits.resize ?? true
  return readImageEntries(
    file.name,
    entries,
    spec,
    { maxExamples: limits.maxExamples, resize },
    skipped,
  )
}

/**
 * The same reader over entries already at hand; `source` names them in problems (the archive's
 * or the folder's name). Paths are judged as in an archive.
 */
export function readImageEntries(
  source: string,
  entries: ImageEntry[],
  spec: DatasetSpec,
  options: ImageEntriesOptions,
  skippedBefore = 0,
): ReadResult {
  const { features } = spec
  if (features.kind !== 'image') {
    return refuse({
      file: source,
      message: `dataset ${spec.name} is tabular: give a CSV, not images`,
    })
  }
  const problems = new Problems()
  const placed = placeEntries(source, entries, spec.classes, problems)
  if (problems.any) return problems.result()
  const { files, skipped } = placed
  if (files.length === 0) {
    return refuse({
      file: source,
      message: `no images in class folders (${spec.classes.join(', ')})`,
    })
  }
  if (files.length > options.maxExamples) {
    return refuse({
      file: source,
      message: `${count(files.length)} images, more than the limit of ${count(options.maxExamples)}`,
    })
  }
  const out = decodeAll(source, files, features, options.resize ?? true, problems)
  if (!out) return problems.result()
  const notes = [`${count(files.length)} images from ${source}`]
  if (out.resized > 0)
    notes.push(
      `resized ${count(out.resized)} of ${count(files.length)} images to ${features.height}×${features.width} (bilinear; aspect not kept)`,
    )
  if (out.converted > 0)
    notes.push(
      `converted ${count(out.converted)} images to ${features.channels === 1 ? 'grayscale' : 'RGB'}`,
    )
  const perClass = new Array<number>(spec.classes.length).fill(0)
  for (const f of files) perClass[f.label]! += 1
  const empty = spec.classes.filter((_, i) => perClass[i] === 0)
  if (empty.length > 0)
    notes.push(`no images for ${empty.map((c) => JSON.stringify(c)).join(', ')}`)
  if (skipped + skippedBefore > 0)
    notes.push(
      `skipped ${count(skipped + skippedBefore)} hidden or system files (.DS_Store, __MACOSX…)`,
    )
  return {
    ok: true,
    examples: {
      count: files.length,
      shape: [features.height, features.width, features.channels],
      features: out.features,
      labels: Uint8Array.from(files, (f) => f.label),
    },
    notes,
  }
}

interface Placed {
  path: string
  label: number
  bytes: Uint8Array
}

/** Each file's class from its folder, past one optional wrapper folder. */
function placeEntries(
  source: string,
  entries: ImageEntry[],
  classes: string[],
  problems: Problems,
): { files: Placed[]; skipped: number } {
  const byName = new Map(classes.map((c, i) => [c, i]))
  const files: { entry: ImageEntry; segments: string[] }[] = []
  let skipped = 0
  for (const entry of entries) {
    const kind = classifyPath(entry.path)
    if (kind.kind === 'climbs')
      problems.add({
        file: source,
        entry: entry.path,
        message: `the path climbs out of the archive: ${kind.why}`,
      })
    else if (kind.kind === 'skip') skipped += 1
    else if (kind.kind === 'file') files.push({ entry, segments: kind.segments })
  }
  if (problems.any) return { files: [], skipped }
  // A wrapper: every file under the same top folder, which names no class.
  const top = files[0]?.segments[0]
  const wrapped =
    top !== undefined &&
    !byName.has(top) &&
    files.every((f) => f.segments.length >= 3 && f.segments[0] === top)
  const listed = classes.length <= 8 ? classes.join(', ') : `${classes.slice(0, 8).join(', ')}, …`
  const placed: Placed[] = []
  for (const { entry, segments } of files) {
    const inner = wrapped ? segments.slice(1) : segments
    if (inner.length !== 2) {
      const message =
        inner.length < 2
          ? 'not in a class folder: images sit in one folder per class'
          : `nested too deep: images sit directly in a class folder (${inner[0]}/file)`
      problems.add({ file: source, entry: entry.path, message })
    } else if (!byName.has(inner[0]!)) {
      problems.add({
        file: source,
        entry: entry.path,
        message: `folder ${JSON.stringify(inner[0])} names no class (classes: ${listed})`,
      })
    } else placed.push({ path: entry.path, label: byName.get(inner[0]!)!, bytes: entry.bytes })
    if (problems.full) break
  }
  return { files: placed, skipped }
}

/** Every image decoded into one buffer of the dataset's shape, or null with problems added. */
function decodeAll(
  source: string,
  files: Placed[],
  features: ImageFeatures,
  resize: boolean,
  problems: Problems,
) {
  const { height, width, channels } = features
  const size = height * width * channels
  const out = new Uint8Array(files.length * size)
  let resized = 0
  let converted = 0
  for (const [i, f] of files.entries()) {
    const img = decodeImage(f.bytes)
    if (typeof img === 'string') {
      problems.add({ file: source, entry: f.path, message: img })
    } else if ((img.width !== width || img.height !== height) && !resize) {
      problems.add({
        file: source,
        entry: f.path,
        message: `${img.width}×${img.height} (width×height); the dataset takes ${width}×${height} and resizing is off`,
      })
    } else if (!problems.any) {
      if (
        img.channels !== channels &&
        !(channels === 3 && img.channels === 4) &&
        !(channels === 1 && img.channels === 2)
      )
        converted += 1
      const pixels = toChannels(img, channels)
      const sized =
        img.width === width && img.height === height
          ? pixels
          : resizeBilinear(pixels, img, { width, height }, channels)
      if (sized !== pixels) resized += 1
      out.set(sized, i * size)
    }
    if (problems.full) return null
  }
  return problems.any ? null : { features: out, resized, converted }
}
