// How the model read a digit: the digit it saw, how sure, and a bar per digit, beside the 28×28
// picture it was given.
import { h } from '../../ui/dom.ts'
import { paintExample } from '../draw/index.ts'
import { percent } from './words.ts'

export interface ReadingParts {
  result: HTMLElement
  digit: HTMLElement
  confidence: HTMLElement
  preview: HTMLCanvasElement
  probs: HTMLOListElement
}

/** Shows the reading of `example`: `p` holds each digit's probability. */
export function showReading(
  document: Document,
  parts: ReadingParts,
  example: Uint8Array,
  p: Float32Array,
): void {
  const values = Array.from(p)
  const best = values.indexOf(Math.max(...values))
  paintExample(parts.preview, example)
  parts.digit.textContent = String(best)
  parts.confidence.textContent = `${percent(values[best]!)} sure`
  parts.probs.replaceChildren(
    ...values.map((value, label) => {
      const fill = h(document, 'span', 'fill')
      fill.style.width = `${100 * value}%`
      const track = h(document, 'span', 'track', fill)
      track.setAttribute('aria-hidden', 'true')
      const item = h(
        document,
        'li',
        label === best ? 'best' : null,
        h(document, 'span', 'digit', h(document, 'span', 'sr', 'Digit '), String(label)),
        track,
        h(document, 'span', 'value', percent(value)),
      )
      item.dataset.digit = String(label)
      item.dataset.probability = String(value)
      return item
    }),
  )
  parts.result.hidden = false
}
