import { describe, expect, it } from 'vitest'
import {
  centredCrop,
  exampleToRgba,
  luma,
  moveCrop,
  type RgbaImage,
  scaleToShape,
  zoomCrop,
} from './crop.ts'

/** An opaque RGBA image whose pixel (x, y) is `colour(x, y)`. */
function image(
  width: number,
  height: number,
  colour: (x: number, y: number) => [number, number, number],
): RgbaImage {
  const rgba = new Uint8ClampedArray(width * height * 4)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      rgba.set([...colour(x, y), 255], (y * width + x) * 4)
    }
  return { width, height, rgba }
}

describe('centredCrop', () => {
  it('takes the largest crop of the aspect that fits, centred', () => {
    // A landscape photo, a square dataset: the middle square.
    expect(centredCrop({ width: 640, height: 480 }, { width: 32, height: 32 })).toEqual({
      x: 80,
      y: 0,
      width: 480,
      height: 480,
    })
    // A portrait photo, a 2:1 (wide) dataset: the full width, the middle band.
    expect(centredCrop({ width: 300, height: 600 }, { width: 64, height: 32 })).toEqual({
      x: 0,
      y: 225,
      width: 300,
      height: 150,
    })
  })

  it('zooms in about the centre, within bounds', () => {
    expect(centredCrop({ width: 100, height: 100 }, { width: 1, height: 1 }, 2)).toEqual({
      x: 25,
      y: 25,
      width: 50,
      height: 50,
    })
    // Past the bound (5×), and nonsense zooms, are held to it or to 1.
    expect(centredCrop({ width: 100, height: 100 }, { width: 1, height: 1 }, 50).width).toBe(20)
    expect(centredCrop({ width: 100, height: 100 }, { width: 1, height: 1 }, 0.1).width).toBe(100)
    expect(centredCrop({ width: 100, height: 100 }, { width: 1, height: 1 }, NaN).width).toBe(100)
  })

  it('refuses sizes that are not whole pixels', () => {
    expect(() => centredCrop({ width: 0, height: 10 }, { width: 1, height: 1 })).toThrow(
      /the image must be whole pixels/,
    )
    expect(() => centredCrop({ width: 10, height: 10 }, { width: 1.5, height: 1 })).toThrow(
      /the shape must be whole pixels/,
    )
  })
})

describe('moveCrop and zoomCrop', () => {
  const photo = { width: 640, height: 480 }
  const square = { width: 32, height: 32 }

  it('moves the crop but never out of the image', () => {
    const crop = centredCrop(photo, square)
    expect(moveCrop(crop, -30, 0, photo)).toMatchObject({ x: 50, y: 0 })
    expect(moveCrop(crop, -500, 99, photo)).toMatchObject({ x: 0, y: 0 })
    expect(moveCrop(crop, 500, 0, photo)).toMatchObject({ x: 160, y: 0 })
    expect(moveCrop(crop, NaN, Infinity, photo)).toMatchObject({ x: 80, y: 0 })
  })

  it('zooms about the crop’s own centre, then keeps it inside', () => {
    const left = moveCrop(centredCrop(photo, square, 2), -1000, 0, photo) // x 0, 240×240
    expect(left).toMatchObject({ x: 0, y: 120, width: 240, height: 240 })
    // Zooming in keeps its centre (120, 240).
    expect(zoomCrop(left, 4, photo, square)).toEqual({ x: 60, y: 180, width: 120, height: 120 })
    // Zooming out to the largest would cross the left edge: pushed back in.
    expect(zoomCrop(left, 1, photo, square)).toEqual({ x: 0, y: 0, width: 480, height: 480 })
  })
})

describe('scaleToShape', () => {
  it('averages the area each output pixel covers (a 2× shrink of a checkerboard is grey)', () => {
    const board = image(8, 8, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]))
    const out = scaleToShape(
      board,
      { x: 0, y: 0, width: 8, height: 8 },
      {
        height: 4,
        width: 4,
        channels: 3,
      },
    )
    expect(out).toHaveLength(4 * 4 * 3)
    expect(new Set(out)).toEqual(new Set([128]))
  })

  it('weighs source pixels cut by the crop by the share inside it', () => {
    // Columns 0 black, 1 white; a crop from x = 0.5 to 2 over a 2-wide image covers
    // half of black and all of white: (0 × 0.5 + 255 × 1) / 1.5 = 170.
    const bars = image(2, 1, (x) => (x === 0 ? [0, 0, 0] : [255, 255, 255]))
    const out = scaleToShape(
      bars,
      { x: 0.5, y: 0, width: 1.5, height: 1 },
      {
        height: 1,
        width: 1,
        channels: 1,
      },
    )
    expect(Array.from(out)).toEqual([170])
  })

  it('keeps colours for RGB, in channel-last order, and only what the crop holds', () => {
    // Left half red, right half blue; crop the right half into 2×2.
    const halves = image(4, 2, (x) => (x < 2 ? [255, 0, 0] : [0, 0, 255]))
    const out = scaleToShape(
      halves,
      { x: 2, y: 0, width: 2, height: 2 },
      {
        height: 2,
        width: 2,
        channels: 3,
      },
    )
    expect(Array.from(out)).toEqual([0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255])
  })

  it('turns colour to grayscale by luma for one channel', () => {
    const green = image(3, 3, () => [0, 200, 0])
    const out = scaleToShape(green, centredCrop(green, { width: 1, height: 1 }), {
      height: 1,
      width: 1,
      channels: 1,
    })
    expect(Array.from(out)).toEqual([Math.round(luma(0, 200, 0))])
    expect(luma(255, 255, 255)).toBeCloseTo(255)
  })

  it('stretches a small image up without leaving holes', () => {
    const dot = image(1, 1, () => [10, 20, 30])
    const out = scaleToShape(
      dot,
      { x: 0, y: 0, width: 1, height: 1 },
      {
        height: 3,
        width: 3,
        channels: 3,
      },
    )
    expect(Array.from(out)).toEqual(Array.from({ length: 9 }, () => [10, 20, 30]).flat())
  })

  it('takes transparent pixels over white', () => {
    const clear = { width: 1, height: 1, rgba: Uint8ClampedArray.of(0, 0, 0, 0) }
    const half = { width: 1, height: 1, rgba: Uint8ClampedArray.of(0, 0, 0, 128) }
    const one = { x: 0, y: 0, width: 1, height: 1 }
    expect(Array.from(scaleToShape(clear, one, { height: 1, width: 1, channels: 1 }))).toEqual([
      255,
    ])
    expect(Array.from(scaleToShape(half, one, { height: 1, width: 1, channels: 1 }))).toEqual([127])
  })

  it('refuses pixels that do not match the size, and crops outside the image', () => {
    const small = image(2, 2, () => [0, 0, 0])
    const shape = { height: 1, width: 1, channels: 3 } as const
    expect(() =>
      scaleToShape({ ...small, rgba: new Uint8Array(3) }, centredCrop(small, shape), shape),
    ).toThrow(/needs 16 bytes, got 3/)
    expect(() => scaleToShape(small, { x: 1, y: 0, width: 2, height: 2 }, shape)).toThrow(
      /inside the image/,
    )
    expect(() => scaleToShape(small, { x: 0, y: 0, width: 0, height: 2 }, shape)).toThrow(
      /have an area/,
    )
  })
})

describe('exampleToRgba', () => {
  it('draws grayscale and RGB examples back as opaque RGBA', () => {
    expect(
      Array.from(exampleToRgba(Uint8Array.of(7, 9), { height: 1, width: 2, channels: 1 })),
    ).toEqual([7, 7, 7, 255, 9, 9, 9, 255])
    expect(
      Array.from(exampleToRgba(Uint8Array.of(1, 2, 3), { height: 1, width: 1, channels: 3 })),
    ).toEqual([1, 2, 3, 255])
    expect(() => exampleToRgba(new Uint8Array(5), { height: 2, width: 2, channels: 1 })).toThrow(
      /needs 4 values, got 5/,
    )
  })
})
