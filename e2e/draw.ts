// Drawing on the phone app's pads, as a person does: with a mouse, or a finger (real touch events).
import type { Locator, Page } from '@playwright/test'

/** A stroke through points given as fractions of the element's box. */
export type Stroke = [number, number][]
/** A "7": the top bar, then down to the left. */
export const SEVEN: Stroke = [
  [0.25, 0.2],
  [0.75, 0.2],
  [0.6, 0.5],
  [0.45, 0.85],
]
/** A "1": one stroke down. */
export const ONE: Stroke = [
  [0.5, 0.15],
  [0.52, 0.85],
]

async function points(target: Locator, stroke: Stroke, steps = 8): Promise<[number, number][]> {
  const box = (await target.boundingBox())!
  const out: [number, number][] = []
  for (let i = 0; i + 1 < stroke.length; i++) {
    const [x0, y0] = stroke[i]!
    const [x1, y1] = stroke[i + 1]!
    for (let s = 0; s <= steps; s++) {
      const t = s / steps
      out.push([
        box.x + box.width * (x0 + (x1 - x0) * t),
        box.y + box.height * (y0 + (y1 - y0) * t),
      ])
    }
  }
  return out
}

/** Draws with the mouse (pointerType "mouse"). */
export async function drawWithMouse(page: Page, target: Locator, stroke: Stroke): Promise<void> {
  const [first, ...rest] = await points(target, stroke)
  await page.mouse.move(...first!)
  await page.mouse.down()
  for (const p of rest) await page.mouse.move(...p)
  await page.mouse.up()
}

/** Draws with a finger: real touch events through the DevTools protocol (pointerType "touch"). */
export async function drawWithFinger(page: Page, target: Locator, stroke: Stroke): Promise<void> {
  const cdp = await page.context().newCDPSession(page)
  const [first, ...rest] = await points(target, stroke)
  const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', p?: [number, number]) =>
    cdp.send('Input.dispatchTouchEvent', {
      type,
      touchPoints: p ? [{ x: p[0], y: p[1], radiusX: 4, radiusY: 4, force: 1 }] : [],
    })
  await touch('touchStart', first)
  for (const p of rest) await touch('touchMove', p)
  await touch('touchEnd')
  await cdp.detach()
}
