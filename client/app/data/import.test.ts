import 'fake-indexeddb/auto'
import { deflateSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { labelCounts, openPollenDB, type PollenDatabase } from '../storage/index.ts'
import {
  damage,
  type ImageDecoder,
  importImages,
  ImportError,
  labelFromFileName,
  MAX_FILES,
  MAX_IMAGE_BYTES,
  pngSize,
  sniffImage,
} from './import.ts'

/** A real grayscale PNG, `width` x `height`, every pixel `value`. */
function png(width: number, height: number, value = 0): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length)
    const view = new DataView(out.buffer)
    view.setUint32(0, data.length)
    out.set(new TextEncoder().encode(type), 4)
    out.set(data, 8)
    return out // the CRC is not checked here
  }
  const ihdr = new Uint8Array(13)
  new DataView(ihdr.buffer).setUint32(0, width)
  new DataView(ihdr.buffer).setUint32(4, height)
  ihdr.set([8, 0, 0, 0, 0], 8)
  const raw = new Uint8Array(height * (width + 1))
  for (let y = 0; y < height; y++) raw.fill(value, y * (width + 1) + 1, (y + 1) * (width + 1))
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe('labelFromFileName', () => {
  it.each([
    ['7.png', 7],
    ['0.PNG', 0],
    ['7-seven.jpg', 7],
    ['3_b.webp', 3],
    ['9 (copy).png', 9],
    ['12.png', null],
    ['img7.png', null],
    ['seven.png', null],
    ['', null],
  ])('%s gives %s', (name, label) => {
    expect(labelFromFileName(name)).toBe(label)
  })
})

describe('sniffing and damage', () => {
  it('knows images by their signature, not their name', () => {
    expect(sniffImage(png(2, 2))).toBe('PNG')
    expect(sniffImage(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))).toBe('JPEG')
    expect(sniffImage(new TextEncoder().encode('GIF89a....'))).toBe('GIF')
    expect(sniffImage(new TextEncoder().encode('RIFF....WEBPVP8 '))).toBe('WebP')
    expect(sniffImage(new TextEncoder().encode('hello, I am a text file'))).toBeNull()
    expect(sniffImage(new Uint8Array(0))).toBeNull()
  })

  it('finds a PNG cut short, and reads its declared size', () => {
    const whole = png(30, 20)
    expect(damage('PNG', whole)).toBeNull()
    expect(pngSize(whole)).toEqual({ width: 30, height: 20 })
    expect(damage('PNG', whole.subarray(0, whole.length - 20))).toMatch(/IDAT chunk is cut short/)
    expect(damage('PNG', whole.subarray(0, whole.length - 12))).toMatch(/ends before its last/)
  })

  it('wants a JPEG to end with its end-of-image marker', () => {
    expect(damage('JPEG', Uint8Array.of(0xff, 0xd8, 0xff, 1, 2, 0xff, 0xd9, 0))).toBeNull()
    expect(damage('JPEG', Uint8Array.of(0xff, 0xd8, 0xff, 1, 2, 3))).toMatch(/end-of-image/)
  })
})

describe('importImages', () => {
  let db: PollenDatabase
  let n = 0
  afterEach(() => db.close())

  /** Decodes the test PNGs' declared size as a dark digit on white: a bar in the middle. */
  const decode: ImageDecoder = async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer())
    const { width, height } = pngSize(bytes)!
    const value = bytes[bytes.length - 1] // see `tagged`: the paper's brightness
    const rgba = new Uint8ClampedArray(width * height * 4).fill(255)
    if (value !== 0)
      for (let y = 4; y < height - 4; y++) {
        const p = (y * width + Math.floor(width / 2)) * 4
        rgba.set([0, 0, 0, 255], p)
      }
    return { width, height, rgba }
  }
  /** A PNG with a trailing byte the fake decoder reads: 1 draws a digit, 0 a blank page. */
  const tagged = (digit: boolean) => {
    const p = png(28, 28)
    const out = new Uint8Array(p.length + 1)
    out.set(p)
    out[p.length] = digit ? 1 : 0
    return out
  }
  const file = (name: string, bytes: Uint8Array | string, type = 'image/png') =>
    new File([bytes as BlobPart], name, { type })

  it('stores the good files and names each refused one with why', async () => {
    db = await openPollenDB({ name: `pollen-import-${n++}` })
    const result = await importImages(
      db,
      [
        file('7.png', tagged(true)),
        file('3-three.png', tagged(true)),
        file('notes.png', 'just some text, renamed'),
        file('1.png', tagged(true).subarray(0, 40)),
        file('2.png', new Uint8Array(0)),
        file('4.png', new Uint8Array(MAX_IMAGE_BYTES + 1)),
        file('5.png', tagged(false)),
        file('picture.png', tagged(true)),
      ],
      { dataset: 'mnist', label: 'from-name', decode },
    )
    expect(result.stored).toEqual([
      { name: '7.png', label: 7 },
      { name: '3-three.png', label: 3 },
    ])
    expect(result.refused.map((r) => r.name)).toEqual([
      'notes.png',
      '1.png',
      '2.png',
      '4.png',
      '5.png',
      'picture.png',
    ])
    const [text, cut, empty, big, blank, unnamed] = result.refused.map((r) => r.reason)
    expect(text).toMatch(/not an image/)
    expect(cut).toMatch(/PNG image is damaged/)
    expect(empty).toMatch(/empty \(0 bytes\)/)
    expect(big).toMatch(/10\.0 MB, over the limit of 10\.0 MB/)
    expect(blank).toMatch(/no digit in it/)
    expect(unnamed).toMatch(/does not start with a digit/)
    expect(await labelCounts(db, 'mnist')).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 0])
  })

  it('labels every file with the chosen digit, whatever its name', async () => {
    db = await openPollenDB({ name: `pollen-import-${n++}` })
    const result = await importImages(
      db,
      [file('7.png', tagged(true)), file('x.png', tagged(true))],
      { dataset: 'mnist', label: 4, decode },
    )
    expect(result.stored.map((s) => s.label)).toEqual([4, 4])
    expect((await labelCounts(db, 'mnist'))[4]).toBe(2)
  })

  it('refuses a decoder failure as damage, and too many files as a whole', async () => {
    db = await openPollenDB({ name: `pollen-import-${n++}` })
    const result = await importImages(db, [file('8.png', tagged(true))], {
      dataset: 'mnist',
      label: 'from-name',
      decode: () => Promise.reject(new DOMException('The source image could not be decoded.')),
    })
    expect(result.refused).toEqual([
      { name: '8.png', reason: 'the PNG image is damaged: it could not be decoded' },
    ])
    const many = Array.from({ length: MAX_FILES + 1 }, (_, i) =>
      file(`${i % 10}.png`, tagged(true)),
    )
    await expect(importImages(db, many, { dataset: 'mnist', label: 1, decode })).rejects.toThrow(
      ImportError,
    )
    expect(await labelCounts(db, 'mnist')).toEqual(Array(10).fill(0))
  })
})
