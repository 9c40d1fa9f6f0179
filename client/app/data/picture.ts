// Pictures for an image dataset, from a file or the camera, as RGBA pixels the crop works on.
// A file is checked before it is decoded (import.ts's checks: size, signature, a cut-off PNG or
// JPEG, a PNG's declared pixels), and every picture is drawn at most WORK_SIDE a side: plenty
// for a crop scaled to a dataset's at most 512-pixel side, small enough for a phone.
import type { RgbaImage } from './crop.ts'
import { damage, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, pngSize, sniffImage } from './import.ts'

/** The longer side a picture is drawn at before it is cropped. */
export const WORK_SIDE = 1024

/** Why a picture was refused, for the owner: `message` names the file. */
export class PictureError extends Error {
  override name = 'PictureError'
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** The file's pixels, at most WORK_SIDE a side (aspect kept); a PictureError says why not. */
export async function readPicture(file: File): Promise<RgbaImage> {
  const refuse = (reason: string) => new PictureError(`${file.name}: ${reason}.`)
  if (file.size === 0) throw refuse('the file is empty (0 bytes)')
  if (file.size > MAX_IMAGE_BYTES)
    throw refuse(`the file is ${mb(file.size)}, over the limit of ${mb(MAX_IMAGE_BYTES)}`)
  const bytes = new Uint8Array(await file.arrayBuffer())
  const kind = sniffImage(bytes)
  if (!kind) throw refuse('it is not an image: its contents are not PNG, JPEG, GIF, WebP or BMP')
  const broken = damage(kind, bytes)
  if (broken) throw refuse(`the ${kind} image is damaged: ${broken}`)
  const size = kind === 'PNG' ? pngSize(bytes) : null
  if (size && size.width * size.height > MAX_IMAGE_PIXELS)
    throw refuse(`the image is ${size.width} × ${size.height} pixels, more than Pollen decodes`)
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type: file.type }))
  } catch {
    throw refuse(`the ${kind} image is damaged: it could not be decoded`)
  }
  try {
    if (bitmap.width * bitmap.height > MAX_IMAGE_PIXELS)
      throw refuse(
        `the image is ${bitmap.width} × ${bitmap.height} pixels, more than Pollen decodes`,
      )
    return drawn(bitmap, bitmap.width, bitmap.height)
  } finally {
    bitmap.close()
  }
}

/** A frame of a playing video (the camera), at most WORK_SIDE a side. */
export function grabFrame(video: HTMLVideoElement): RgbaImage {
  if (video.videoWidth === 0 || video.videoHeight === 0)
    throw new PictureError('The camera has not shown a picture yet: wait a moment, then take it.')
  return drawn(video, video.videoWidth, video.videoHeight)
}

/** `source` drawn at most WORK_SIDE a side, read back as RGBA. */
function drawn(source: CanvasImageSource, width: number, height: number): RgbaImage {
  if (width === 0 || height === 0) throw new PictureError('The picture has no pixels.')
  const scale = Math.min(1, WORK_SIDE / Math.max(width, height))
  const w = Math.max(1, Math.round(width * scale))
  const h = Math.max(1, Math.round(height * scale))
  const canvas = document.createElement('canvas')
  canvas.width = w
  canvas.height = h
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (!ctx) throw new PictureError('This browser cannot draw on a canvas.')
  ctx.imageSmoothingQuality = 'high'
  ctx.drawImage(source, 0, 0, w, h)
  return { width: w, height: h, rgba: ctx.getImageData(0, 0, w, h).data }
}
