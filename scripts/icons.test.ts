import { crc32, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { encodePng, iconPng, PETAL_COLOR, POLLEN_COLOR, THEME_COLOR } from './icons.ts'

/** Reads a PNG the way a strict decoder would: signature, chunk CRCs, IHDR, one IDAT, IEND. */
function decodePng(png: Uint8Array) {
  expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10])
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const chunks: { type: string; data: Uint8Array }[] = []
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8))
    const data = png.subarray(at + 8, at + 8 + length)
    expect(view.getUint32(at + 8 + length), `${type} CRC`).toBe(
      crc32(png.subarray(at + 4, at + 8 + length)),
    )
    chunks.push({ type, data })
    at += 12 + length
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND'])
  const ihdr = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13)
  const width = ihdr.getUint32(0)
  const height = ihdr.getUint32(4)
  expect(Array.from(chunks[0]!.data.subarray(8))).toEqual([8, 6, 0, 0, 0])
  const raw = inflateSync(chunks[1]!.data)
  expect(raw.length).toBe(height * (width * 4 + 1))
  const rgba = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)], 'filter byte').toBe(0)
    rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4)
  }
  return { width, height, rgba }
}

const rgb = (colour: string) => {
  const n = Number.parseInt(colour.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

describe('encodePng', () => {
  it('round-trips pixels through a strict decoder', () => {
    const rgba = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) & 255)
    const png = decodePng(encodePng(3, 2, rgba))
    expect(png).toMatchObject({ width: 3, height: 2 })
    expect(Array.from(png.rgba)).toEqual(Array.from(rgba))
  })

  it('refuses a size that does not match the pixels', () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(RangeError)
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(RangeError)
  })
})

describe('iconPng', () => {
  it.each([192, 512])(
    'paints a %i px opaque flower: theme colour at the edge, petals, a golden centre',
    (size) => {
      const { width, height, rgba } = decodePng(iconPng(size))
      expect([width, height]).toEqual([size, size])
      const pixel = (x: number, y: number) =>
        Array.from(rgba.subarray((y * size + x) * 4, (y * size + x) * 4 + 4))
      expect(pixel(0, 0)).toEqual([...rgb(THEME_COLOR), 255])
      expect(pixel(size - 1, size - 1)).toEqual([...rgb(THEME_COLOR), 255])
      // The golden centre (away from the pollen dots), and a petal straight above it.
      expect(pixel(Math.round(size * 0.58), Math.round(size * 0.56))).toEqual([
        ...rgb(POLLEN_COLOR),
        255,
      ])
      expect(pixel(size / 2, Math.round(size * 0.25))).toEqual([...rgb(PETAL_COLOR), 255])
      for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) throw new Error('not opaque')
    },
  )

  it('keeps the flower inside the maskable safe zone (the central 80% circle)', () => {
    const size = 192
    const { rgba } = decodePng(iconPng(size))
    const background = rgb(THEME_COLOR)
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = (x + 0.5) / size - 0.5
        const dy = (y + 0.5) / size - 0.5
        if (Math.hypot(dx, dy) < 0.4) continue
        const at = (y * size + x) * 4
        expect([rgba[at], rgba[at + 1], rgba[at + 2]]).toEqual(background)
      }
    }
  })
})
