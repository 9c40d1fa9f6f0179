// Runs in Chromium (vitest.config.ts): real PNGs from a canvas, the real decoder
// (createImageBitmap) and the real IndexedDB.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { labelCounts, openPollenDB, type PollenDatabase } from '../storage/index.ts'
import {
  damage,
  importImages,
  ImportError,
  labelFromFileName,
  MAX_FILES,
  MAX_IMAGE_BYTES,
  pngSize,
  sniffImage,
} from './import.ts'

/**
 * A real PNG from a canvas, `width` x `height`: white paper, with a dark digit-like stroke
 * down the middle when `digit`.
 */
async function png(width: number, height: number, digit = false): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(width, height)
  const context = canvas.getContext('2d')!
  context.fillStyle = '#fff'
  context.fillRect(0, 0, width, height)
  if (digit) {
    context.fillStyle = '#111'
    context.fillRect(Math.floor(width / 2) - 2, 4, 4, height - 8)
  }
  const blob = await canvas.convertToBlob({ type: 'image/png' })
  return new Uint8Array(await blob.arrayBuffer())
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
  it('knows images by their signature, not their name', async () => {
    expect(sniffImage(await png(2, 2))).toBe('PNG')
    expect(sniffImage(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))).toBe('JPEG')
    expect(sniffImage(new TextEncoder().encode('GIF89a....'))).toBe('GIF')
    expect(sniffImage(new TextEncoder().encode('RIFF....WEBPVP8 '))).toBe('WebP')
    expect(sniffImage(new TextEncoder().encode('hello, I am a text file'))).toBeNull()
    expect(sniffImage(new Uint8Array(0))).toBeNull()
  })

  it('finds a PNG cut short, and reads its declared size', async () => {
    const whole = await png(30, 20)
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

  let digit: Uint8Array
  let blank: Uint8Array
  beforeAll(async () => {
    digit = await png(28, 28, true)
    blank = await png(28, 28, false)
  })
  const file = (name: string, bytes: Uint8Array | string, type = 'image/png') =>
    new File([bytes as BlobPart], name, { type })

  it('stores the good files and names each refused one with why', async () => {
    db = await openPollenDB({ name: `pollen-import-${n++}` })
    const result = await importImages(
      db,
      [
        file('7.png', digit),
        file('3-three.png', digit),
        file('notes.png', 'just some text, renamed'),
        file('1.png', digit.subarray(0, 40)),
        file('2.png', new Uint8Array(0)),
        file('4.png', new Uint8Array(MAX_IMAGE_BYTES + 1)),
        file('5.png', blank),
        file('picture.png', digit),
      ],
      { dataset: 'mnist', label: 'from-name' },
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
    const [text, cut, empty, big, nothing, unnamed] = result.refused.map((r) => r.reason)
    expect(text).toMatch(/not an image/)
    expect(cut).toMatch(/PNG image is damaged/)
    expect(empty).toMatch(/empty \(0 bytes\)/)
    expect(big).toMatch(/10\.0 MB, over the limit of 10\.0 MB/)
    expect(nothing).toMatch(/no digit in it/)
    expect(unnamed).toMatch(/does not start with a digit/)
    expect(await labelCounts(db, 'mnist', 10)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 0])
  })

  it('labels every file with the chosen digit, whatever its name', async () => {
    db = await openPollenDB({ name: `pollen-import-${n++}` })
    const result = await importImages(db, [file('7.png', digit), file('x.png', digit)], {
      dataset: 'mnist',
      label: 4,
    })
    expect(result.stored.map((s) => s.label)).toEqual([4, 4])
    expect((await labelCounts(db, 'mnist', 10))[4]).toBe(2)
  })

  it('refuses a decoder failure as damage, and too many files as a whole', async () => {
    db = await openPollenDB({ name: `pollen-import-${n++}` })
    // A failure the checks before decoding cannot see: the decoder's own, as Chromium words it.
    const result = await importImages(db, [file('8.png', digit)], {
      dataset: 'mnist',
      label: 'from-name',
      decode: () => Promise.reject(new DOMException('The source image could not be decoded.')),
    })
    expect(result.refused).toEqual([
      { name: '8.png', reason: 'the PNG image is damaged: it could not be decoded' },
    ])
    const many = Array.from({ length: MAX_FILES + 1 }, (_, i) => file(`${i % 10}.png`, digit))
    await expect(importImages(db, many, { dataset: 'mnist', label: 1 })).rejects.toThrow(
      ImportError,
    )
    expect(await labelCounts(db, 'mnist', 10)).toEqual(Array(10).fill(0))
  })
})
