// What the data screen shows is stored: how many digits, from where, and a bar per digit.
import { h } from '../../ui/dom.ts'
import type { DemoSetting } from '../storage/index.ts'

/** Which demo digits were loaded: a random tenth, or one or two digits only. */
export const describeDemo = (demo: DemoSetting): string =>
  demo.kind === 'iid'
    ? 'Demo digits: a random tenth of MNIST.'
    : `Demo digits: ${demo.labels.length === 1 ? 'only' : 'two digits only,'} ${demo.labels.join(' and ')}.`

/** Draws the summary line and the per-digit counts (`perLabel[label]`); hides them when empty. */
export function showCounts(
  document: Document,
  { summary, counts }: { summary: HTMLElement; counts: HTMLUListElement },
  perLabel: readonly number[],
  demo: DemoSetting | undefined,
): void {
  const total = perLabel.reduce((a, b) => a + b, 0)
  if (total === 0) {
    summary.replaceChildren(
      'No examples yet. Draw a digit, import images, or load the demo digits below to try Pollen.',
    )
    counts.hidden = true
    counts.replaceChildren()
    return
  }
  const what = demo ? ` ${describeDemo(demo)}` : ''
  summary.replaceChildren(
    h(document, 'strong', null, total.toLocaleString('en')),
    ` handwritten digit${total === 1 ? '' : 's'}.${what}`,
  )
  const max = Math.max(...perLabel)
  counts.replaceChildren(
    ...perLabel.map((n, label) => {
      const fill = h(document, 'span', 'fill')
      fill.style.width = `${(100 * n) / max}%`
      const track = h(document, 'span', 'track', fill)
      track.setAttribute('aria-hidden', 'true')
      const item = h(
        document,
        'li',
        n === 0 ? 'zero' : null,
        h(document, 'span', 'digit', h(document, 'span', 'sr', 'Digit '), String(label)),
        track,
        h(document, 'span', 'count', String(n), h(document, 'span', 'sr', ' examples')),
      )
      item.dataset.label = String(label)
      item.dataset.count = String(n)
      return item
    }),
  )
  counts.hidden = false
}
