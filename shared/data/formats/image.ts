import { convertIndexedToRgb, decode as decodePng, type DecodedPng } from 'fast-png'
import { decode as decodeJpeg } from 'jpeg-js'
import { ByteBudget, unzlibLimited } from './inflate.ts'

/**
 * Decoding PNG and JPEG in pure JS (Node and browsers alike), and bringing an image to a
 * dataset's channels and size. Each decoder is bounded before it allocates: a PNG's header and
 * its compressed pixels are checked first (a 10×10 PNG whose data inflates to a gigabyte is a
 * bomb like any other), a JPEG's size by jpeg-js's own limits.
 */
export interface Bitmap {
  width: number
  height: number
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; 8 bits each, interleaved, row-major. */
  channels: 1 | 2 | 3 | 4
  data: Uint8Array
}

/** Past this an image is no dataset example: 16.7 megapixels (4096×4096). */
export const MAX_SOURCE_PIXELS = 4096 * 4096

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v)
const ascii = (b: Uint8Array, from: number, to: number) =>
  String.fromCharCode(...b.subarray(from, to))

export const isPng = (b: Uint8Array) =>
  startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
export const isJpeg = (b: Uint8Array) => startsWith(b, [0xff, 0xd8, 0xff])

/** What a file that is neither PNG nor JPEG is, for the message that refuses it. */
export function describeBytes(b: Uint8Array): string {
  if (b.length === 0) return 'an empty file'
  if (ascii(b, 0, 4) === 'GIF8') return 'a GIF image'
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'a WebP image'
  if (ascii(b, 4, 8) === 'ftyp')
    return `an ISO media file (${ascii(b, 8, 12).trim()}: HEIC/AVIF or video)`
  if (ascii(b, 0, 2) === 'BM') return 'a BMP image'
  if (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*') return 'a TIFF image'
  if (ascii(b, 0, 4) === '%PDF') return 'a PDF document'
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04])) return 'a zip archive'
  if (startsWith(b, [0x1f, 0x8b])) return 'gzip data'
  const head = b.subarray(0, 512)
  if (head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127))) {
    return ascii(head, 0, Math.min(head.length, 64)).trimStart().startsWith('<')
      ? 'XML or HTML text (an SVG?)'
      : 'text'
  }
  return `binary data starting ${[...b.subarray(0, 4)].map((c) => c.toString(16).padStart(2, '0')).join(' ')}`
}

/** The decoded image, or why it is not one this reads. */
export function decodeImage(bytes: Uint8Array): Bitmap | string {
  if (isPng(bytes)) return readPng(bytes)
  if (isJpeg(bytes)) return readJpeg(bytes)
  return `not an image: ${describeBytes(bytes)} (PNG and JPEG are read)`
}

function readPng(bytes: Uint8Array): Bitmap | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 33 || ascii(bytes, 12, 16) !== 'IHDR') return 'PNG: no header (IHDR)'
  const width = view.getUint32(16)
  const height = view.getUint32(20)
  if (width * height > MAX_SOURCE_PIXELS) {
    return `PNG: ${width}×${height} is over ${MAX_SOURCE_PIXELS / (1 << 20)} megapixels: scale the images down`
  }
  const inflation = checkPngData(bytes, width, height, bytes[24]!, bytes[25]!)
  if (inflation) return `PNG: ${inflation}`
  let png: DecodedPng
  try {
    png = decodePng(bytes)
  } catch (e) {
    return `PNG: ${e instanceof Error ? e.message : String(e)}`
  }
  return fromPng(png)
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }

/**
 * Inflates the image data (IDAT) against what its header's size can need, before fast-png
 * inflates it without a bound. Interlaced images need a little more (a filter byte per pass row).
 */
function checkPngData(
  bytes: Uint8Array,
  width: number,
  height: number,
  depth: number,
  color: number,
): string | null {
  const channels = PNG_CHANNELS[color]
  if (!channels || ![1, 2, 4, 8, 16].includes(depth))
    return `bit depth ${depth} with color type ${color} is not valid`
  const rowBytes = Math.ceil((width * channels * depth) / 8)
  const need = height * (rowBytes + 1) + 7 * height + 1024
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const parts: Uint8Array[] = []
  let total = 0
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at)
    const type = ascii(bytes, at + 4, at + 8)
    if (at + 12 + length > bytes.length) return 'truncated'
    if (type === 'IDAT') {
      parts.push(bytes.subarray(at + 8, at + 8 + length))
      total += length
    }
    if (type === 'IEND') break
    at += 12 + length
  }
  const data = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    data.set(p, at)
    at += p.length
  }
  const out = unzlibLimited(data, new ByteBudget(need))
  if (out.ok) return null
  return out.reason === 'over-budget'
    ? `its pixel data inflates past the ${width}×${height} its header declares`
    : `pixel data: ${out.message}`
}

function fromPng(png: DecodedPng): Bitmap | string {
  const { width, height } = png
  if (png.palette) {
    const rgb = convertIndexedToRgb(png)
    const channels = rgb.length === width * height * 4 ? 4 : 3
    return { width, height, channels, data: rgb }
  }
  const channels = png.channels as Bitmap['channels']
  const n = width * height * channels
  const data = new Uint8Array(n)
  if (png.depth === 16) {
    for (let i = 0; i < n; i++) data[i] = png.data[i]! >> 8
  } else if (png.depth === 8) {
    data.set(png.data.subarray(0, n))
  } else {
    // 1, 2 or 4-bit gray, packed, each row starting on a byte.
    const depth = png.depth
    const rowBytes = Math.ceil((width * depth) / 8)
    const max = (1 << depth) - 1
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * depth
        const byte = png.data[y * rowBytes + (bit >> 3)]!
        data[y * width + x] = Math.round((((byte >> (8 - depth - (bit & 7))) & max) * 255) / max)
      }
    }
  }
  return { width, height, channels, data }
}

function readJpeg(bytes: Uint8Array): Bitmap | string {
  try {
    const img = decodeJpeg(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: MAX_SOURCE_PIXELS / 1e6,
      maxMemoryUsageInMB: 256,
    })
    return { width: img.width, height: img.height, channels: 3, data: img.data }
  } catch (e) {
    return `JPEG: ${e instanceof Error ? e.message : String(e)}`
  }
}

/** The image in `channels` (1 gray or 3 RGB): alpha dropped, RGB to gray by BT.601 luma. */
export function toChannels(img: Bitmap, channels: 1 | 3): Uint8Array {
  const n = img.width * img.height
  const c = img.channels
  if (c === channels) return img.data
  const out = new Uint8Array(n * channels)
  const src = img.data
  for (let i = 0; i < n; i++) {
    if (c >= 3) {
      const r = src[i * c]!
      const g = src[i * c + 1]!
      const b = src[i * c + 2]!
      if (channels === 1) out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b)
      else {
        out[i * 3] = r
        out[i * 3 + 1] = g
        out[i * 3 + 2] = b
      }
    } else {
      const v = src[i * c]!
      if (channels === 1) out[i] = v
      else out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v
    }
  }
  return out
}

/**
 * Resizes to width×height, bilinear with pixel centres aligned (as TF's resize with half-pixel
 * centres). Shrinking by more than half first averages 2×2 blocks, repeatedly, so a photo brought
 * down to 32×32 averages its pixels instead of sampling a few of them.
 */
export function resizeBilinear(
  src: Uint8Array,
  from: { width: number; height: number },
  to: { width: number; height: number },
  channels: number,
): Uint8Array {
  let data = src
  let { width, height } = from
  while (width >= 2 * to.width && height >= 2 * to.height) {
    ;({ data, width, height } = halve(data, width, height, channels))
  }
  if (width === to.width && height === to.height) return data
  const out = new Uint8Array(to.width * to.height * channels)
  const sx = width / to.width
  const sy = height / to.height
  for (let y = 0; y < to.height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1)
    const y0 = Math.floor(fy)
    const y1 = Math.min(y0 + 1, height - 1)
    const wy = fy - y0
    for (let x = 0; x < to.width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1)
      const x0 = Math.floor(fx)
      const x1 = Math.min(x0 + 1, width - 1)
      const wx = fx - x0
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => data[(yy * width + xx) * channels + c]!
        const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
        const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
        out[(y * to.width + x) * channels + c] = Math.round(top * (1 - wy) + bottom * wy)
      }
    }
  }
  return out
}

function halve(src: Uint8Array, width: number, height: number, channels: number) {
  const w = width >> 1
  const h = height >> 1
  const data = new Uint8Array(w * h * channels)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => src[(yy * width + xx) * channels + c]!
        const sum =
          at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)
        data[(y * w + x) * channels + c] = (sum + 2) >> 2
      }
    }
  }
  return { data, width: w, height: h }
}
