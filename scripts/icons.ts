// The app icons, painted and PNG-encoded at build time (node:zlib only): no binary files in git.
// vite.config.ts emits them into dist/client/icons/; the manifest lists them.
import { crc32, deflateSync } from 'node:zlib'

/** Pollen's colours, shared with the manifest and the page. */
export const THEME_COLOR = '#1f3d2b'
export const POLLEN_COLOR = '#f5b700'
export const PETAL_COLOR = '#f6f5ef'

/** Icon sizes the manifest lists: Chromium's installability wants one of at least 144 px. */
export const ICON_SIZES = [192, 512] as const

export const iconPath = (size: number): string => `icons/icon-${size}.png`

type Rgba = [number, number, number, number]

const hex = (colour: string): Rgba => {
  const n = Number.parseInt(colour.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255, 255]
}

/**
 * Encodes RGBA pixels (row-major, 4 bytes each) as a PNG: 8-bit truecolour with alpha, no
 * interlace, every scanline with filter 0.
 */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: bad size ${width}x${height}`)
  }
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`encodePng: ${rgba.length} bytes for ${width}x${height} RGBA`)
  }
  const stride = width * 4
  const raw = new Uint8Array((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0
    raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  }
  const ihdr = new Uint8Array(13)
  const view = new DataView(ihdr.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  ihdr.set([8, 6, 0, 0, 0], 8) // bit depth, colour type RGBA, compression, filter, interlace
  return concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ])
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A filled ellipse; `angle` turns its first axis from the x axis. */
interface Shape {
  x: number
  y: number
  /** Semi-axes: along `angle`, and across it. */
  a: number
  b: number
  angle: number
  colour: Rgba
}

const inside = (s: Shape, x: number, y: number): boolean => {
  const dx = x - s.x
  const dy = y - s.y
  const c = Math.cos(s.angle)
  const n = Math.sin(s.angle)
  const u = (dx * c + dy * n) / s.a
  const v = (-dx * n + dy * c) / s.b
  return u * u + v * v <= 1
}

/**
 * A flower seen from above: cream petals round a golden centre dotted with pollen, on the
 * theme colour to the edges. Everything lies within the central 80% circle, so the same image
 * works as a maskable icon. Coordinates are fractions of the side.
 */
function flower(): Shape[] {
  const petal = hex(PETAL_COLOR)
  const gold = hex(POLLEN_COLOR)
  const pollen: Rgba = [176, 112, 0, 255]
  const shapes: Shape[] = []
  const petals = 8
  for (let i = 0; i < petals; i++) {
    const angle = (2 * Math.PI * i) / petals - Math.PI / 2
    const d = 0.225
    shapes.push({
      x: 0.5 + d * Math.cos(angle),
      y: 0.5 + d * Math.sin(angle),
      a: 0.15,
      b: 0.075,
      angle,
      colour: petal,
    })
  }
  shapes.push({ x: 0.5, y: 0.5, a: 0.14, b: 0.14, angle: 0, colour: gold })
  for (const [x, y] of [
    [0.46, 0.45],
    [0.55, 0.47],
    [0.48, 0.55],
  ] as const) {
    shapes.push({ x, y, a: 0.022, b: 0.022, angle: 0, colour: pollen })
  }
  return shapes
}

/** The icon at `size` x `size` pixels, as RGBA. */
export function paintIcon(size: number): Uint8Array {
  const background = hex(THEME_COLOR)
  const shapes = flower()
  // 4x4 samples a pixel smooth the edges.
  const samples = 4
  const out = new Uint8Array(size * size * 4)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const sum = [0, 0, 0]
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) / size
          const y = (py + (sy + 0.5) / samples) / size
          let colour = background
          // Later shapes paint over earlier ones.
          for (const shape of shapes) if (inside(shape, x, y)) colour = shape.colour
          for (let c = 0; c < 3; c++) sum[c]! += colour[c]!
        }
      }
      const at = (py * size + px) * 4
      for (let c = 0; c < 3; c++) out[at + c] = Math.round(sum[c]! / (samples * samples))
      out[at + 3] = 255
    }
  }
  return out
}

/** The PNG file of the icon at `size` px. */
export const iconPng = (size: number): Uint8Array => encodePng(size, size, paintIcon(size))
