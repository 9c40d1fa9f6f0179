import { encode as encodePng } from 'fast-png'
import { zlibSync } from 'fflate'
import { encode as encodeJpeg } from 'jpeg-js'
import { describe, expect, it } from 'vitest'
import { crc32 } from './zip.ts'
import { type Bitmap, decodeImage, describeBytes, resizeBilinear, toChannels } from './image.ts'

const bitmap = (img: Bitmap | string): Bitmap => {
  if (typeof img === 'string') throw new Error(img)
  return img
}

/** A width×height RGBA gradient: red rises left to right, green top to bottom. */
function gradient(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([x * 10, y * 10, 200, 128], (y * width + x) * 4)
    }
  }
  return data
}

/** A PNG chunk, with its CRC. */
function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, body.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(body, 8)
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)))
  return out
}

/** A grayscale 8-bit PNG whose IDAT holds `raw` (filter bytes included), whatever its size. */
function pngWithData(width: number, height: number, raw: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13)
  new DataView(ihdr.buffer).setUint32(0, width)
  new DataView(ihdr.buffer).setUint32(4, height)
  ihdr.set([8, 0, 0, 0, 0], 8)
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe('decodeImage', () => {
  it('decodes PNG: RGBA, RGB, gray, gray+alpha, 16-bit', () => {
    const rgba = gradient(4, 3)
    expect(
      bitmap(decodeImage(encodePng({ width: 4, height: 3, data: rgba, channels: 4 }))),
    ).toEqual({ width: 4, height: 3, channels: 4, data: rgba })
    const gray = Uint8Array.from({ length: 6 }, (_, i) => i * 40)
    expect(
      bitmap(decodeImage(encodePng({ width: 3, height: 2, data: gray, channels: 1 }))).data,
    ).toEqual(gray)
    const ga = bitmap(
      decodeImage(encodePng({ width: 1, height: 1, data: Uint8Array.of(9, 200), channels: 2 })),
    )
    expect(ga).toMatchObject({ channels: 2, data: Uint8Array.of(9, 200) })
    const deep = bitmap(
      decodeImage(
        encodePng({
          width: 2,
          height: 1,
          data: Uint16Array.of(0xff00, 0x1234),
          channels: 1,
          depth: 16,
        }),
      ),
    )
    expect(deep.data).toEqual(Uint8Array.of(0xff, 0x12))
  })

  it('decodes 1-bit gray PNG and palette PNG', () => {
    // 1-bit gray, 3×1: 1 0 1 packed as 0b10100000 after the filter byte 0.
    const oneBit = bitmap(
      decodeImage(
        encodePng({ width: 3, height: 1, data: Uint8Array.of(0b10100000), channels: 1, depth: 1 }),
      ),
    )
    expect(oneBit.data).toEqual(Uint8Array.of(255, 0, 255))
    const indexed = encodePng({
      width: 2,
      height: 1,
      data: Uint8Array.of(1, 0),
      channels: 1,
      depth: 8,
      palette: [
        [10, 20, 30],
        [200, 100, 50],
      ],
    })
    expect(bitmap(decodeImage(indexed))).toMatchObject({
      channels: 3,
      data: Uint8Array.of(200, 100, 50, 10, 20, 30),
    })
  })

  it('decodes JPEG to RGB', () => {
    const rgba = new Uint8Array(8 * 8 * 4).fill(0)
    for (let i = 0; i < 64; i++) rgba.set([250, 10, 10, 255], i * 4)
    const img = bitmap(decodeImage(encodeJpeg({ width: 8, height: 8, data: rgba }, 95).data))
    expect(img).toMatchObject({ width: 8, height: 8, channels: 3 })
    expect(Math.abs(img.data[0]! - 250)).toBeLessThan(8)
    expect(img.data[1]!).toBeLessThan(20)
  })

  it('names what a file is when it is no PNG or JPEG', () => {
    const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
    expect(decodeImage(bytes('GIF89a...'))).toBe(
      'not an image: a GIF image (PNG and JPEG are read)',
    )
    expect(describeBytes(bytes('RIFF\0\0\0\0WEBPVP8 '))).toBe('a WebP image')
    expect(describeBytes(bytes('\0\0\0\x18ftypheic'))).toMatch(/HEIC/)
    expect(describeBytes(bytes('%PDF-1.7'))).toBe('a PDF document')
    expect(describeBytes(bytes('hello, world\n'))).toBe('text')
    expect(describeBytes(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toMatch(/SVG/)
    expect(describeBytes(new Uint8Array(0))).toBe('an empty file')
    expect(describeBytes(Uint8Array.of(1, 2, 3, 250))).toBe('binary data starting 01 02 03 fa')
  })

  it('refuses a corrupt PNG, a truncated one and a corrupt JPEG', () => {
    const png = encodePng({ width: 4, height: 3, data: gradient(4, 3), channels: 4 })
    const corrupt = png.slice()
    corrupt[40] = corrupt[40]! ^ 0xff
    expect(decodeImage(corrupt)).toMatch(/^PNG: /)
    expect(decodeImage(png.subarray(0, png.length - 20))).toMatch(/^PNG: /)
    const jpeg = encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256) }, 90).data
    expect(decodeImage(jpeg.subarray(0, 30))).toMatch(/^JPEG: /)
  })

  it('refuses a PNG past the size limit from its header, before decoding', () => {
    const huge = pngWithData(5000, 5000, new Uint8Array(1))
    expect(decodeImage(huge)).toBe('PNG: 5000×5000 is over 16 megapixels: scale the images down')
  })

  it('refuses a PNG whose pixel data inflates past its declared size (a PNG bomb)', () => {
    // 10×10 declares 110 bytes of rows; its data inflates to 32 MiB.
    const bomb = pngWithData(10, 10, new Uint8Array(32 << 20))
    expect(bomb.length).toBeLessThan(64_000)
    expect(decodeImage(bomb)).toBe(
      'PNG: its pixel data inflates past the 10×10 its header declares',
    )
  })
})

describe('toChannels', () => {
  const img = (channels: Bitmap['channels'], data: number[]): Bitmap => ({
    width: 1,
    height: 1,
    channels,
    data: Uint8Array.from(data),
  })
  it('drops alpha, turns RGB to gray by luma and gray to RGB', () => {
    expect(toChannels(img(4, [10, 20, 30, 0]), 3)).toEqual(Uint8Array.of(10, 20, 30))
    expect(toChannels(img(3, [255, 0, 0]), 1)).toEqual(Uint8Array.of(76))
    expect(toChannels(img(4, [0, 255, 0, 255]), 1)).toEqual(Uint8Array.of(150))
    expect(toChannels(img(1, [7]), 3)).toEqual(Uint8Array.of(7, 7, 7))
    expect(toChannels(img(2, [7, 0]), 1)).toEqual(Uint8Array.of(7))
    expect(toChannels(img(2, [7, 0]), 3)).toEqual(Uint8Array.of(7, 7, 7))
  })
})

describe('resizeBilinear', () => {
  it('keeps a constant image constant at any size', () => {
    const src = new Uint8Array(7 * 5 * 3).fill(123)
    for (const to of [
      { width: 3, height: 2 },
      { width: 32, height: 32 },
      { width: 1, height: 1 },
    ]) {
      expect(new Set(resizeBilinear(src, { width: 7, height: 5 }, to, 3))).toEqual(new Set([123]))
    }
  })

  it('interpolates between pixel centres when enlarging', () => {
    // 2×1 gray [0, 100] to 4×1: centres at -0.25, 0.25, 0.75, 1.25 of the source, clamped.
    expect(
      resizeBilinear(Uint8Array.of(0, 100), { width: 2, height: 1 }, { width: 4, height: 1 }, 1),
    ).toEqual(Uint8Array.of(0, 25, 75, 100))
  })

  it('averages when shrinking by half or more, instead of sampling', () => {
    // A 4×4 checkerboard of 0 and 200 to 2×2 and to 1×1: every output pixel is the mean, 100.
    const board = Uint8Array.from({ length: 16 }, (_, i) =>
      ((i % 4) + Math.floor(i / 4)) % 2 ? 200 : 0,
    )
    expect(resizeBilinear(board, { width: 4, height: 4 }, { width: 2, height: 2 }, 1)).toEqual(
      new Uint8Array(4).fill(100),
    )
    expect(resizeBilinear(board, { width: 4, height: 4 }, { width: 1, height: 1 }, 1)).toEqual(
      Uint8Array.of(100),
    )
  })

  it('keeps channels apart', () => {
    const src = new Uint8Array(4 * 4 * 3)
    for (let i = 0; i < 16; i++) src.set([10, 100, 250], i * 3)
    expect(resizeBilinear(src, { width: 4, height: 4 }, { width: 3, height: 3 }, 3)).toEqual(
      Uint8Array.from({ length: 27 }, (_, i) => [10, 100, 250][i % 3]!),
    )
  })
})
