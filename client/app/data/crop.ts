// A photo or picture becomes one example of an image dataset: a crop of the dataset's aspect
// (centred unless the owner moves it, as large as fits unless they zoom in), scaled to its
// H×W by area averaging, and its channels (grayscale by luma for C = 1). Pure: no DOM.

/** A crop, in the source image's pixels (fractional: it is scaled, never read pixel by pixel). */
export interface Crop {
  x: number
  y: number
  width: number
  height: number
}

/** Decoded pixels: RGBA, row-major, 4 bytes a pixel (what a canvas's getImageData gives). */
export interface RgbaImage {
  width: number
  height: number
  rgba: ArrayLike<number>
}

/** The example's shape: an image dataset's features. */
export interface ImageShape {
  height: number
  width: number
  channels: 1 | 3
}

/** The smallest zoom: the crop's side is at least this share of the largest that fits. */
export const MIN_ZOOM_SHARE = 0.2

const assertSize = (width: number, height: number, what: string) => {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new RangeError(`${what} must be whole pixels, at least 1×1 (got ${width}×${height})`)
}

/**
 * The crop of `shape`'s aspect (width / height), centred, at `zoom` (1: the largest that fits
 * the image; 2: half its sides; bounded to 1 .. 1 / MIN_ZOOM_SHARE).
 */
export function centredCrop(
  image: { width: number; height: number },
  shape: { width: number; height: number },
  zoom = 1,
): Crop {
  assertSize(image.width, image.height, 'the image')
  assertSize(shape.width, shape.height, 'the shape')
  const aspect = shape.width / shape.height
  // The largest crop of that aspect inside the image.
  let width = image.width
  let height = width / aspect
  if (height > image.height) {
    height = image.height
    width = height * aspect
  }
  const share = 1 / clamp(Number.isFinite(zoom) ? zoom : 1, 1, 1 / MIN_ZOOM_SHARE)
  width *= share
  height *= share
  return { x: (image.width - width) / 2, y: (image.height - height) / 2, width, height }
}

/** `crop` moved by (dx, dy) source pixels, kept inside the image. */
export function moveCrop(
  crop: Crop,
  dx: number,
  dy: number,
  image: { width: number; height: number },
): Crop {
  return {
    ...crop,
    x: clamp(crop.x + (Number.isFinite(dx) ? dx : 0), 0, image.width - crop.width),
    y: clamp(crop.y + (Number.isFinite(dy) ? dy : 0), 0, image.height - crop.height),
  }
}

/** `crop` at a new zoom about its own centre, kept inside the image. */
export function zoomCrop(
  crop: Crop,
  zoom: number,
  image: { width: number; height: number },
  shape: { width: number; height: number },
): Crop {
  const sized = centredCrop(image, shape, zoom)
  const cx = crop.x + crop.width / 2
  const cy = crop.y + crop.height / 2
  return moveCrop({ ...sized, x: cx - sized.width / 2, y: cy - sized.height / 2 }, 0, 0, image)
}

/**
 * The example: `crop` of `image` scaled to `shape` (height × width × channels bytes, row-major,
 * channels last). Each output pixel is the mean of the source area it covers, each source pixel
 * weighted by how much of it lies inside (so a shrink never aliases and a stretch is smooth
 * enough for a 32-pixel example). Transparent pixels are taken over white, as on paper.
 */
export function scaleToShape(image: RgbaImage, crop: Crop, shape: ImageShape): Uint8Array {
  const { width: sw, height: sh, rgba } = image
  assertSize(sw, sh, 'the image')
  assertSize(shape.width, shape.height, 'the shape')
  if (rgba.length !== sw * sh * 4)
    throw new RangeError(`a ${sw}×${sh} RGBA image needs ${sw * sh * 4} bytes, got ${rgba.length}`)
  if (!(crop.width > 0 && crop.height > 0) || crop.x < 0 || crop.y < 0)
    throw new RangeError('the crop must have an area and lie inside the image')
  if (crop.x + crop.width > sw + 1e-6 || crop.y + crop.height > sh + 1e-6)
    throw new RangeError('the crop must lie inside the image')
  const { width: tw, height: th, channels } = shape
  const out = new Uint8Array(tw * th * channels)
  const fx = crop.width / tw
  const fy = crop.height / th
  for (let ty = 0; ty < th; ty++) {
    const y0 = crop.y + ty * fy
    const y1 = Math.min(sh, y0 + fy)
    for (let tx = 0; tx < tw; tx++) {
      const x0 = crop.x + tx * fx
      const x1 = Math.min(sw, x0 + fx)
      let [r, g, b] = [0, 0, 0]
      let area = 0
      for (let y = Math.floor(y0); y < y1; y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0)
        if (wy <= 0) continue
        for (let x = Math.floor(x0); x < x1; x++) {
          const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0))
          if (w <= 0) continue
          const p = (y * sw + x) * 4
          const alpha = rgba[p + 3]! / 255
          const white = 255 * (1 - alpha)
          r += w * (rgba[p]! * alpha + white)
          g += w * (rgba[p + 1]! * alpha + white)
          b += w * (rgba[p + 2]! * alpha + white)
          area += w
        }
      }
      const at = (ty * tw + tx) * channels
      if (channels === 1) out[at] = Math.round(luma(r, g, b) / area)
      else {
        out[at] = Math.round(r / area)
        out[at + 1] = Math.round(g / area)
        out[at + 2] = Math.round(b / area)
      }
    }
  }
  return out
}

/** ITU-R BT.601 luma, as grayscale photo datasets (and canvas grayscale filters) use. */
export const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b

/**
 * An example as RGBA (for drawing it back on a canvas: the preview of what the model gets).
 */
export function exampleToRgba(
  example: Uint8Array,
  shape: ImageShape,
): Uint8ClampedArray<ArrayBuffer> {
  const pixels = shape.width * shape.height
  if (example.length !== pixels * shape.channels)
    throw new RangeError(
      `a ${shape.height}×${shape.width}×${shape.channels} example needs ` +
        `${pixels * shape.channels} values, got ${example.length}`,
    )
  const out = new Uint8ClampedArray(pixels * 4)
  for (let p = 0; p < pixels; p++) {
    const c = shape.channels
    out[p * 4] = example[p * c]!
    out[p * 4 + 1] = example[p * c + (c === 3 ? 1 : 0)]!
    out[p * 4 + 2] = example[p * c + (c === 3 ? 2 : 0)]!
    out[p * 4 + 3] = 255
  }
  return out
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
