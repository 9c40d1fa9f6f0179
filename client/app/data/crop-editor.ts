// The crop on screen: the picture with a frame of the dataset's aspect over it (centred at
// first), moved by a finger, a mouse or the arrow keys and sized by a zoom slider, and beside it
// the example exactly as it will be stored, drawn at the dataset's own H×W.
import {
  centredCrop,
  type Crop,
  exampleToRgba,
  type ImageShape,
  moveCrop,
  type RgbaImage,
  scaleToShape,
  zoomCrop,
} from './crop.ts'

/** The picture's canvas resolution (CSS sizes it to the card). */
const VIEW_SIDE = 480
/** An arrow key moves the frame this share of the picture's side (Shift: five times more). */
const KEY_STEP = 0.02

export interface CropEditorParts {
  /** Shows the picture and the frame; takes the drag and the arrow keys. */
  view: HTMLCanvasElement
  /** Shows the example at the dataset's H×W. */
  preview: HTMLCanvasElement
  zoom: HTMLInputElement
}

export interface CropEditor {
  /** Starts on a new picture, the frame centred and as large as fits. */
  show(picture: RgbaImage): void
  /** The example as it will be stored (H×W×C bytes), or null with no picture. */
  example(): Uint8Array | null
  /** The current crop, in the picture's pixels (null with no picture). */
  crop(): Crop | null
  clear(): void
}

export function mountCropEditor(
  { view, preview, zoom }: CropEditorParts,
  shape: ImageShape,
): CropEditor {
  const ctx = context(view)
  preview.width = shape.width
  preview.height = shape.height
  const previewCtx = context(preview)
  const bitmap = view.ownerDocument.createElement('canvas')
  let picture: RgbaImage | null = null
  let crop: Crop | null = null
  let scale = 1

  const draw = () => {
    if (!picture || !crop) return
    ctx.clearRect(0, 0, view.width, view.height)
    ctx.drawImage(bitmap, 0, 0, view.width, view.height)
    // Darken what the frame leaves out, then outline the frame.
    const [x, y, w, h] = [crop.x * scale, crop.y * scale, crop.width * scale, crop.height * scale]
    ctx.fillStyle = 'rgba(0, 0, 0, 0.55)'
    ctx.beginPath()
    ctx.rect(0, 0, view.width, view.height)
    ctx.rect(x, y, w, h)
    ctx.fill('evenodd')
    ctx.strokeStyle = '#fff'
    ctx.lineWidth = Math.max(2, view.width / 160)
    ctx.strokeRect(x, y, w, h)
    const example = scaleToShape(picture, crop, shape)
    previewCtx.putImageData(
      new ImageData(exampleToRgba(example, shape), shape.width, shape.height),
      0,
      0,
    )
  }

  const move = (dx: number, dy: number) => {
    if (!picture || !crop) return
    crop = moveCrop(crop, dx, dy, picture)
    draw()
  }

  // Drag: one pointer at a time, captured so a drag that leaves the canvas still ends.
  let dragging: { id: number; x: number; y: number } | null = null
  view.addEventListener('pointerdown', (event) => {
    if (!picture || dragging) return
    dragging = { id: event.pointerId, x: event.clientX, y: event.clientY }
    view.setPointerCapture(event.pointerId)
    event.preventDefault()
  })
  view.addEventListener('pointermove', (event) => {
    if (!dragging || event.pointerId !== dragging.id || !picture) return
    // CSS pixels on screen → the picture's pixels.
    const perCss = picture.width / view.getBoundingClientRect().width
    move((event.clientX - dragging.x) * perCss, (event.clientY - dragging.y) * perCss)
    dragging.x = event.clientX
    dragging.y = event.clientY
  })
  const end = (event: PointerEvent) => {
    if (dragging?.id === event.pointerId) dragging = null
  }
  view.addEventListener('pointerup', end)
  view.addEventListener('pointercancel', end)
  view.addEventListener('keydown', (event) => {
    if (!picture) return
    const step = Math.max(picture.width, picture.height) * KEY_STEP * (event.shiftKey ? 5 : 1)
    const delta: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    }
    const d = delta[event.key]
    if (!d) return
    event.preventDefault()
    move(...d)
  })
  zoom.addEventListener('input', () => {
    if (!picture || !crop) return
    crop = zoomCrop(crop, Number(zoom.value), picture, shape)
    draw()
  })

  return {
    show(next) {
      picture = next
      scale = Math.min(1, VIEW_SIDE / Math.max(next.width, next.height))
      view.width = Math.max(1, Math.round(next.width * scale))
      view.height = Math.max(1, Math.round(next.height * scale))
      scale = view.width / next.width
      // Shown as wide as the card, but never taller than most of the screen.
      view.style.aspectRatio = `${view.width} / ${view.height}`
      view.style.maxWidth = `min(100%, calc(60vh * ${view.width / view.height}))`
      bitmap.width = next.width
      bitmap.height = next.height
      context(bitmap).putImageData(
        new ImageData(Uint8ClampedArray.from(next.rgba), next.width, next.height),
        0,
        0,
      )
      zoom.value = '1'
      crop = centredCrop(next, shape)
      draw()
    },
    example: () => (picture && crop ? scaleToShape(picture, crop, shape) : null),
    crop: () => (crop ? { ...crop } : null),
    clear() {
      picture = null
      crop = null
      ctx.clearRect(0, 0, view.width, view.height)
      previewCtx.clearRect(0, 0, preview.width, preview.height)
    },
  }
}

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (!ctx) throw new Error('this browser cannot draw on a canvas')
  return ctx
}
