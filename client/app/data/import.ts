// "Import images": labelled image files become 28x28 examples (client/app/draw/preprocess.ts).
// Every file is checked before it is decoded; a bad one is refused with the reason, and the good
// ones of the same batch are stored together in one transaction.
import { MNIST_SHAPE, PIXELS_PER_EXAMPLE } from '../../../shared/data/index.ts'
import { inkOf, luminance, toMnist } from '../draw/index.ts'
import { addExamples, type PollenDatabase } from '../storage/index.ts'

/** One image may be at most this big: a phone photo is 2-6 MB; more is not a digit. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024
/** Nor this many pixels once decoded (a small file can hold a huge PNG). */
export const MAX_IMAGE_PIXELS = 40_000_000
/** Files per import: enough for a folder of digits, few enough to decode on a phone. */
export const MAX_FILES = 500
/** Images are drawn at most this size before preprocessing: plenty for a 20x20 box. */
const WORK_SIZE = 140

export type ImageKind = 'PNG' | 'JPEG' | 'GIF' | 'WebP' | 'BMP'

/**
 * The digit a file's name gives it: a name that starts with one digit and then anything but
 * another digit, like `7.png`, `7-seven.jpg` or `3_b.webp`. `12.png` or `img7.png` give none.
 */
export function labelFromFileName(name: string): number | null {
  const match = /^(\d)(?!\d)/.exec(name.trim())
  return match ? Number(match[1]) : null
}

/** What kind of image the bytes are, by their signature; null when none Pollen reads. */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b)
  const ascii = (at: number, text: string) =>
    [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0))
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'PNG'
  if (starts(0xff, 0xd8, 0xff)) return 'JPEG'
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'GIF'
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'WebP'
  if (ascii(0, 'BM') && bytes.length >= 26) return 'BMP'
  return null
}

/**
 * Why an image of `kind` is damaged when its structure says so (cut short), else null. PNG is
 * walked chunk by chunk to IEND (browsers draw a truncated PNG half-grey instead of failing);
 * a JPEG must end with its end-of-image marker. Others are left to the decoder.
 */
export function damage(kind: ImageKind, bytes: Uint8Array): string | null {
  if (kind === 'PNG') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = 8
    while (at + 8 <= bytes.length) {
      const length = view.getUint32(at)
      const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8))
      at += 12 + length
      if (at > bytes.length) return `its ${type} chunk is cut short`
      if (type === 'IEND') return null
    }
    return 'it ends before its last chunk (IEND)'
  }
  if (kind === 'JPEG') {
    // Some cameras pad after the marker: look for it near the end.
    const tail = bytes.subarray(Math.max(0, bytes.length - 1024))
    for (let i = tail.length - 2; i >= 0; i--)
      if (tail[i] === 0xff && tail[i + 1] === 0xd9) return null
    return 'it has no end-of-image marker'
  }
  return null
}

/** The width and height a PNG declares in its header (before decoding it). */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 24) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { width: view.getUint32(16), height: view.getUint32(20) }
}

/** A file's refusal, written for the phone's owner. */
export interface Refusal {
  name: string
  reason: string
}

export interface ImportResult {
  stored: { name: string; label: number }[]
  refused: Refusal[]
}

/** How a checked image's bytes become RGBA pixels; the real one uses createImageBitmap. */
export type ImageDecoder = (
  blob: Blob,
) => Promise<{ width: number; height: number; rgba: ArrayLike<number> }>

export interface ImportOptions {
  dataset: string
  /** One digit for every file, or each from its file name. */
  label: number | 'from-name'
  decode?: ImageDecoder
  now?: number
}

/** Why importing failed as a whole (nothing was stored); `message` is for the owner. */
export class ImportError extends Error {
  override name = 'ImportError'
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/**
 * Checks, decodes and preprocesses each file, then stores the good ones in one transaction
 * (source `imported`). Refused files are named with the reason; stored data is never lost.
 */
export async function importImages(
  db: PollenDatabase,
  files: readonly File[],
  { dataset, label, decode = decodeImage, now = Date.now() }: ImportOptions,
): Promise<ImportResult> {
  if (files.length > MAX_FILES) {
    throw new ImportError(
      `That is ${files.length} files; import at most ${MAX_FILES} at a time. Nothing was stored.`,
    )
  }
  const result: ImportResult = { stored: [], refused: [] }
  const pixels: Uint8Array[] = []
  for (const file of files) {
    const refuse = (reason: string) => result.refused.push({ name: file.name, reason })
    if (file.size === 0) {
      refuse('the file is empty (0 bytes)')
      continue
    }
    if (file.size > MAX_IMAGE_BYTES) {
      refuse(`the file is ${mb(file.size)}, over the limit of ${mb(MAX_IMAGE_BYTES)} for one image`)
      continue
    }
    const bytes = new Uint8Array(await file.arrayBuffer())
    const kind = sniffImage(bytes)
    if (!kind) {
      refuse('it is not an image: its contents are not PNG, JPEG, GIF, WebP or BMP')
      continue
    }
    const broken = damage(kind, bytes)
    if (broken) {
      refuse(`the ${kind} image is damaged: ${broken}`)
      continue
    }
    const size = kind === 'PNG' ? pngSize(bytes) : null
    if (size && size.width * size.height > MAX_IMAGE_PIXELS) {
      refuse(`the image is ${size.width} x ${size.height} pixels, more than Pollen decodes`)
      continue
    }
    // What the file is comes first; then whether it has a label.
    const digit = label === 'from-name' ? labelFromFileName(file.name) : label
    if (digit === null) {
      refuse('its name does not start with a digit 0 to 9 (like 7.png), so its label is unknown')
      continue
    }
    let decoded
    try {
      decoded = await decode(new Blob([bytes], { type: file.type }))
    } catch {
      refuse(`the ${kind} image is damaged: it could not be decoded`)
      continue
    }
    const example = toMnist(inkOf(luminance(decoded.rgba, decoded.width, decoded.height)))
    if (!example) {
      refuse('there is no digit in it: the image is blank')
      continue
    }
    pixels.push(example)
    result.stored.push({ name: file.name, label: digit })
  }
  if (pixels.length > 0) {
    const features = new Uint8Array(pixels.length * PIXELS_PER_EXAMPLE)
    pixels.forEach((p, i) => features.set(p, i * PIXELS_PER_EXAMPLE))
    try {
      await addExamples(db, {
        dataset,
        source: 'imported',
        examples: {
          count: pixels.length,
          shape: [...MNIST_SHAPE],
          features,
          labels: Uint8Array.from(result.stored, (s) => s.label),
        },
        now,
      })
    } catch (cause) {
      const quota = cause instanceof DOMException && cause.name === 'QuotaExceededError'
      throw new ImportError(
        (quota
          ? 'There is not enough storage space on this phone for these images.'
          : `The images could not be stored (${cause instanceof Error ? cause.message : String(cause)}).`) +
          ' Nothing stored on this phone was changed.',
        { cause },
      )
    }
  }
  return result
}

/** Decodes with createImageBitmap and draws at most WORK_SIZE a side (aspect kept). */
export const decodeImage: ImageDecoder = async (blob) => {
  const bitmap = await createImageBitmap(blob)
  try {
    if (bitmap.width === 0 || bitmap.height === 0) throw new Error('an image of no pixels')
    const scale = Math.min(1, WORK_SIZE / Math.max(bitmap.width, bitmap.height))
    const width = Math.max(1, Math.round(bitmap.width * scale))
    const height = Math.max(1, Math.round(bitmap.height * scale))
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d', { willReadFrequently: true })
    if (!ctx) throw new Error('this browser cannot draw on a canvas')
    ctx.imageSmoothingQuality = 'high'
    ctx.drawImage(bitmap, 0, 0, width, height)
    return { width, height, rgba: ctx.getImageData(0, 0, width, height).data }
  } finally {
    bitmap.close()
  }
}
