// A dataset's stored examples as the data screen shows them: the total, and a bar per class
// named by the dataset's class names.
import { h } from '../../ui/dom.ts'

/** The list of counts per class (`perClass[label]`), one row per class name. */
export function classCountsList(
  document: Document,
  dataset: string,
  classes: readonly string[],
  perClass: readonly number[],
): HTMLUListElement {
  const list = h(document, 'ul', 'counts classes')
  list.setAttribute('aria-label', `Examples per class of ${dataset}`)
  const max = Math.max(1, ...perClass)
  list.append(
    ...classes.map((name, label) => {
      const n = perClass[label] ?? 0
      const fill = h(document, 'span', 'fill')
      fill.style.width = `${(100 * n) / max}%`
      const track = h(document, 'span', 'track', fill)
      track.setAttribute('aria-hidden', 'true')
      const item = h(
        document,
        'li',
        n === 0 ? 'zero' : null,
        h(document, 'span', 'class-name', name),
        track,
        h(
          document,
          'span',
          'count',
          n.toLocaleString('en'),
          h(document, 'span', 'sr', ' examples'),
        ),
      )
      item.dataset.label = String(label)
      item.dataset.count = String(n)
      return item
    }),
  )
  return list
}

/** "No examples yet." or "123 examples." */
export const countsSummary = (total: number): string =>
  total === 0
    ? 'No examples yet.'
    : `${total.toLocaleString('en')} example${total === 1 ? '' : 's'}.`
