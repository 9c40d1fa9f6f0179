import { describe, expect, it } from 'vitest'
import {
  type GrayImage,
  hasLightBackground,
  inkOf,
  luminance,
  MNIST_BOX,
  MNIST_SIZE,
  toMnist,
} from './preprocess.ts'

/** A width x height black image with the rectangles given painted `value`. */
function image(
  width: number,
  height: number,
  rects: [left: number, top: number, w: number, h: number][],
  value = 255,
): GrayImage {
  const data = new Uint8Array(width * height)
  for (const [left, top, w, h] of rects)
    for (let y = top; y < top + h; y++)
      for (let x = left; x < left + w; x++) data[y * width + x] = value
  return { width, height, data }
}

/** The ink's bounding box in a 28x28 example: [left, top, width, height]. */
function bounds(pixels: Uint8Array, threshold = 1): [number, number, number, number] {
  let [l, t, r, b] = [MNIST_SIZE, MNIST_SIZE, -1, -1]
  pixels.forEach((v, p) => {
    if (v < threshold) return
    const x = p % MNIST_SIZE
    const y = Math.floor(p / MNIST_SIZE)
    ;[l, t, r, b] = [Math.min(l, x), Math.min(t, y), Math.max(r, x), Math.max(b, y)]
  })
  return [l, t, r - l + 1, b - t + 1]
}

function centreOfMass(pixels: Uint8Array): [number, number] {
  let [m, x, y] = [0, 0, 0]
  pixels.forEach((v, p) => {
    m += v
    x += v * ((p % MNIST_SIZE) + 0.5)
    y += v * (Math.floor(p / MNIST_SIZE) + 0.5)
  })
  return [x / m, y / m]
}

describe('toMnist', () => {
  it('is null for an image without ink, and for ink fainter than the threshold', () => {
    expect(toMnist(image(280, 280, []))).toBeNull()
    expect(toMnist(image(280, 280, [[10, 10, 50, 50]], 20))).toBeNull()
  })

  it('scales the bounding box so its longer side is 20 pixels, and centres it in 28x28', () => {
    // A square in a corner of a large picture fills the 20x20 box in the middle of the frame.
    const out = toMnist(image(300, 300, [[0, 0, 60, 60]]))!
    expect(out).toHaveLength(MNIST_SIZE * MNIST_SIZE)
    expect(bounds(out)).toEqual([4, 4, MNIST_BOX, MNIST_BOX])
    expect(Math.max(...out)).toBe(255)
  })

  it('keeps the aspect ratio: a tall stroke stays narrow', () => {
    // A "1": 20 wide, 200 tall, off to the right.
    const out = toMnist(image(280, 280, [[230, 40, 20, 200]]))!
    const [, , w, h] = bounds(out)
    expect(h).toBe(MNIST_BOX)
    expect(w).toBe(2)
    const [cx, cy] = centreOfMass(out)
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5)
  })

  it('centres by centre of mass, not by the bounding box', () => {
    // An "L": heavy at the bottom, so its mass centre is below its box's centre.
    const out = toMnist(
      image(100, 100, [
        [10, 10, 10, 80],
        [10, 80, 80, 10],
      ]),
    )!
    const [cx, cy] = centreOfMass(out)
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5)
    const [left, top, w, h] = bounds(out)
    expect([w, h]).toEqual([MNIST_BOX, MNIST_BOX])
    // The mass is low and to the left: the box moves right of the geometric centre (4, 4), and
    // up (as far as the frame allows).
    expect(left).toBeGreaterThan(4)
    expect(top).toBeLessThan(4)
    expect(left + w).toBeLessThanOrEqual(MNIST_SIZE)
  })

  it('anti-aliases when it shrinks: each pixel is the mean of the area it covers', () => {
    // A 1-pixel checkerboard, 200x200, shrinks by 10 to an even grey.
    const data = new Uint8Array(200 * 200).map((_, p) =>
      ((p % 200) + Math.floor(p / 200)) % 2 ? 255 : 0,
    )
    const out = toMnist({ width: 200, height: 200, data })!
    const inked = [...out].filter((v) => v > 0)
    expect(inked).toHaveLength(MNIST_BOX * MNIST_BOX)
    expect(new Set(inked)).toEqual(new Set([128]))
  })

  it('enlarges a digit smaller than the box', () => {
    const out = toMnist(image(28, 28, [[12, 12, 2, 5]]))!
    expect(bounds(out).slice(2)).toEqual([8, MNIST_BOX])
  })

  it('refuses pixel data that does not match the size', () => {
    expect(() => toMnist({ width: 10, height: 10, data: new Uint8Array(99) })).toThrow(RangeError)
  })
})

describe('luminance', () => {
  it('weighs the channels as Rec. 601 and lays transparent pixels on white', () => {
    const rgba = Uint8ClampedArray.of(255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128, 255, 255, 255, 255)
    const { data } = luminance(rgba, 2, 2)
    expect(Array.from(data, Math.round)).toEqual([76, 255, 127, 255])
  })
})

describe('inversion and contrast', () => {
  /** Dark ink on light paper: what a photo or a drawing app gives. */
  const paper = (ink: number, bg: number): GrayImage => {
    const img = image(40, 40, [[15, 8, 8, 24]], 1)
    return { ...img, data: Float32Array.from(img.data, (v) => (v ? ink : bg)) }
  }

  it('sees a light background by its border', () => {
    expect(hasLightBackground(paper(20, 240))).toBe(true)
    expect(hasLightBackground(image(40, 40, [[15, 8, 8, 24]]))).toBe(false)
    // Mostly ink in the middle does not fool it: the border is black.
    expect(hasLightBackground(image(40, 40, [[2, 2, 36, 36]]))).toBe(false)
  })

  it('inverts dark-on-light to white-on-black, and stretches grey paper to black', () => {
    const ink = inkOf(paper(40, 200))
    expect(ink.data[0]).toBe(0)
    expect(ink.data[10 * 40 + 18]).toBe(255)
    const out = toMnist(ink)!
    // 8x24 becomes 7x20; centred by mass: left = round(14 - 3.5).
    expect(bounds(out)).toEqual([11, 4, 7, 20])
  })

  it('leaves white-on-black as it is', () => {
    const ink = inkOf(image(40, 40, [[15, 8, 8, 24]], 230))
    expect(ink.data[0]).toBe(0)
    expect(ink.data[10 * 40 + 18]).toBe(255)
  })

  it('takes a blank or nearly blank picture for no digit', () => {
    expect(toMnist(inkOf(paper(250, 250)))).toBeNull()
    expect(toMnist(inkOf(paper(230, 250)))).toBeNull()
  })
})
