// Turns a picture of one digit into a 28x28 example the way MNIST was made (LeCun et al.): white
// ink on black, the digit's bounding box scaled to fit 20x20 (aspect kept, anti-aliased), then
// placed in 28x28 so that its centre of mass sits at the centre. Pure: no DOM, unit-tested.

/** The side of an MNIST example, in pixels. */
export const MNIST_SIZE = 28
/** The box the digit's longer side is scaled to, inside the 28x28 frame. */
export const MNIST_BOX = 20

/** One intensity a pixel, row-major; ink is bright, background 0. */
export interface GrayImage {
  width: number
  height: number
  data: ArrayLike<number>
}

export interface ToMnistOptions {
  /** Output side (28). */
  size?: number
  /** The longer side of the digit's bounding box after scaling (20). */
  box?: number
  /** Pixels at or above this (0..255) count as ink for the bounding box: ignores faint noise. */
  threshold?: number
}

/**
 * The 28x28 example (784 bytes, 0..255, white digit on black), or null when the image holds no
 * ink at all (an empty drawing, a blank image).
 */
export function toMnist(
  image: GrayImage,
  { size = MNIST_SIZE, box = MNIST_BOX, threshold = 32 }: ToMnistOptions = {},
): Uint8Array | null {
  const { width, height, data } = image
  if (data.length !== width * height) {
    throw new RangeError(
      `a ${width}x${height} image needs ${width * height} pixels, got ${data.length}`,
    )
  }
  // The bounding box of the ink.
  let left = width
  let right = -1
  let top = height
  let bottom = -1
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x]! < threshold) continue
      if (x < left) left = x
      if (x > right) right = x
      if (y < top) top = y
      if (y > bottom) bottom = y
    }
  }
  if (right < 0) return null
  const boxWidth = right - left + 1
  const boxHeight = bottom - top + 1
  const scale = box / Math.max(boxWidth, boxHeight)
  const w = Math.max(1, Math.round(boxWidth * scale))
  const h = Math.max(1, Math.round(boxHeight * scale))
  const patch = resample(image, { left, top, width: boxWidth, height: boxHeight }, w, h)

  // Centre of mass of the patch, pixel centres at +0.5.
  let mass = 0
  let mx = 0
  let my = 0
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = patch[y * w + x]!
      mass += v
      mx += v * (x + 0.5)
      my += v * (y + 0.5)
    }
  }
  // Shift by whole pixels (as MNIST did), but never so far that the digit leaves the frame.
  const place = (centre: number, extent: number) =>
    Math.min(size - extent, Math.max(0, Math.round(size / 2 - centre)))
  const ox = place(mass > 0 ? mx / mass : w / 2, w)
  const oy = place(mass > 0 ? my / mass : h / 2, h)

  const out = new Uint8Array(size * size)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out[(y + oy) * size + x + ox] = Math.round(Math.min(255, Math.max(0, patch[y * w + x]!)))
    }
  }
  return out
}

interface Rect {
  left: number
  top: number
  width: number
  height: number
}

/**
 * Area-averaging resample of `rect` of `image` to w x h: each output pixel is the mean of the
 * source area it covers (fractional edges weighted), which anti-aliases when shrinking.
 */
function resample(image: GrayImage, rect: Rect, w: number, h: number): Float32Array {
  const sx = rect.width / w
  const sy = rect.height / h
  const out = new Float32Array(w * h)
  for (let y = 0; y < h; y++) {
    const y0 = y * sy
    const y1 = y0 + sy
    for (let x = 0; x < w; x++) {
      const x0 = x * sx
      const x1 = x0 + sx
      let sum = 0
      for (let j = Math.floor(y0); j < Math.ceil(y1); j++) {
        const wy = Math.min(j + 1, y1) - Math.max(j, y0)
        const row = (rect.top + j) * image.width + rect.left
        for (let i = Math.floor(x0); i < Math.ceil(x1); i++) {
          const wx = Math.min(i + 1, x1) - Math.max(i, x0)
          sum += image.data[row + i]! * wx * wy
        }
      }
      out[y * w + x] = sum / (sx * sy)
    }
  }
  return out
}

/**
 * Luminance 0..255 of RGBA pixels (as `getImageData` gives them), transparent parts laid on
 * white: a PNG of dark ink on a transparent background reads as ink on paper.
 */
export function luminance(rgba: ArrayLike<number>, width: number, height: number): GrayImage {
  const data = new Float32Array(width * height)
  for (let p = 0; p < data.length; p++) {
    const a = rgba[p * 4 + 3]! / 255
    const y = 0.299 * rgba[p * 4]! + 0.587 * rgba[p * 4 + 1]! + 0.114 * rgba[p * 4 + 2]!
    data[p] = y * a + 255 * (1 - a)
  }
  return { width, height, data }
}

/**
 * Whether the background is light (dark ink on paper, unlike MNIST): the mean of the border
 * pixels, where a digit rarely is, is above mid-grey.
 */
export function hasLightBackground({ width, height, data }: GrayImage): boolean {
  let sum = 0
  let n = 0
  for (let x = 0; x < width; x++) {
    sum += data[x]! + data[(height - 1) * width + x]!
    n += 2
  }
  for (let y = 1; y < height - 1; y++) {
    sum += data[y * width]! + data[y * width + width - 1]!
    n += 2
  }
  return n > 0 && sum / n > 127.5
}

/**
 * Ink as MNIST has it: inverted when the background is light, then stretched so the background
 * (the median) is 0 and the brightest ink 255. Paper is never pure white, nor a photo's shadow
 * pure black; without this the bounding box would be the whole picture.
 */
export function inkOf(gray: GrayImage): GrayImage {
  const invert = hasLightBackground(gray)
  const data = Float32Array.from(gray.data, (v) => (invert ? 255 - v : v))
  const background = median(data)
  let max = 0
  for (const v of data) if (v > max) max = v
  // Less contrast than this is a blank picture (or noise), not a faint digit.
  const range = max - background >= MIN_CONTRAST ? max - background : 0
  for (let p = 0; p < data.length; p++) {
    data[p] = range > 0 ? Math.max(0, ((data[p]! - background) * 255) / range) : 0
  }
  return { width: gray.width, height: gray.height, data }
}

/** The least difference, 0..255, between ink and background that `inkOf` takes for a digit. */
export const MIN_CONTRAST = 32

function median(values: Float32Array): number {
  if (values.length === 0) return 0
  const sorted = values.slice().sort()
  return sorted[Math.floor(sorted.length / 2)]!
}
