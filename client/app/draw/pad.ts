import { toMnist } from './preprocess.ts'

/** The canvas's own resolution: enough for a finger's digit, and cheap to scan. */
export const PAD_SIZE = 280
/** Stroke width relative to the pad: about MNIST's pen once scaled into the 20x20 box. */
const STROKE = 0.075

export interface DrawPadOptions {
  /** Called after every stroke and after `clear()`. */
  onChange?: (empty: boolean) => void
}

export interface DrawPad {
  /** The drawing as a 28x28 MNIST example, or null when nothing is drawn. */
  example(): Uint8Array | null
  /** Whether any ink is on the pad. */
  isEmpty(): boolean
  clear(): void
}

/**
 * A drawing pad on `canvas`: one finger, a pen or a mouse (Pointer Events, captured so a stroke
 * that leaves the canvas still ends). Ink goes on a transparent canvas, so its alpha channel is
 * the digit, whatever colour the ink is shown in.
 */
export function mountDrawPad(
  canvas: HTMLCanvasElement,
  { onChange }: DrawPadOptions = {},
): DrawPad {
  canvas.width = PAD_SIZE
  canvas.height = PAD_SIZE
  const context = canvas.getContext('2d', { willReadFrequently: true })
  if (!context) throw new Error('this browser cannot draw on a canvas')
  const ctx = context
  let active: number | null = null
  let last: { x: number; y: number } | null = null
  let inked = false

  const style = () => {
    ctx.strokeStyle = ctx.fillStyle = getComputedStyle(canvas).color || '#17231b'
    ctx.lineWidth = PAD_SIZE * STROKE
    ctx.lineCap = 'round'
    ctx.lineJoin = 'round'
  }
  const point = (event: PointerEvent) => {
    const rect = canvas.getBoundingClientRect()
    return {
      x: ((event.clientX - rect.left) * PAD_SIZE) / rect.width,
      y: ((event.clientY - rect.top) * PAD_SIZE) / rect.height,
    }
  }
  const dot = ({ x, y }: { x: number; y: number }) => {
    ctx.beginPath()
    ctx.arc(x, y, (PAD_SIZE * STROKE) / 2, 0, 2 * Math.PI)
    ctx.fill()
  }
  const line = (to: { x: number; y: number }) => {
    if (!last) return
    ctx.beginPath()
    ctx.moveTo(last.x, last.y)
    ctx.lineTo(to.x, to.y)
    ctx.stroke()
    last = to
  }

  canvas.addEventListener('pointerdown', (event) => {
    // One stroke at a time: a second finger (or the palm) does not draw.
    if (active !== null || (event.pointerType === 'mouse' && event.button !== 0)) return
    event.preventDefault()
    active = event.pointerId
    canvas.setPointerCapture?.(event.pointerId)
    style()
    last = point(event)
    dot(last)
    inked = true
  })
  canvas.addEventListener('pointermove', (event) => {
    if (event.pointerId !== active) return
    event.preventDefault()
    // Fast strokes: the events the browser merged into this one, for a smooth line.
    const events = event.getCoalescedEvents?.() ?? []
    for (const e of events.length > 0 ? events : [event]) line(point(e))
  })
  const end = (event: PointerEvent) => {
    if (event.pointerId !== active) return
    active = null
    last = null
    onChange?.(false)
  }
  canvas.addEventListener('pointerup', end)
  canvas.addEventListener('pointercancel', end)

  const pixels = () => {
    const { data } = ctx.getImageData(0, 0, PAD_SIZE, PAD_SIZE)
    const alpha = new Uint8Array(PAD_SIZE * PAD_SIZE)
    for (let p = 0; p < alpha.length; p++) alpha[p] = data[p * 4 + 3]!
    return alpha
  }

  return {
    example: () => (inked ? toMnist({ width: PAD_SIZE, height: PAD_SIZE, data: pixels() }) : null),
    isEmpty: () => !inked,
    clear() {
      ctx.clearRect(0, 0, PAD_SIZE, PAD_SIZE)
      inked = false
      active = null
      last = null
      onChange?.(true)
    },
  }
}

/** Paints a 28x28 example (white on black, as the model sees it) on a small canvas. */
export function paintExample(canvas: HTMLCanvasElement, pixels: Uint8Array, size = 28): void {
  canvas.width = size
  canvas.height = size
  const ctx = canvas.getContext('2d')
  if (!ctx) return
  const image = ctx.createImageData(size, size)
  for (let p = 0; p < size * size; p++) {
    const v = pixels[p] ?? 0
    image.data.set([v, v, v, 255], p * 4)
  }
  ctx.putImageData(image, 0, 0)
}
