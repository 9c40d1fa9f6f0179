// Building the dashboard's tables: header cells with their scope, rows replaced under a caption.
import { h } from '../ui/dom.ts'

export function th(doc: Document, text: string, scope: 'col' | 'row') {
  const cell = h(doc, 'th', null, text)
  cell.setAttribute('scope', scope)
  return cell
}

/** Replaces the table's rows (its caption stays) with a header row and `rows`. */
export function fill(
  doc: Document,
  table: HTMLTableElement,
  titles: string[],
  rows: HTMLElement[],
) {
  const caption = table.caption
  const head = h(doc, 'thead', null, h(doc, 'tr', null, ...titles.map((t) => th(doc, t, 'col'))))
  table.replaceChildren(...(caption ? [caption] : []), head, h(doc, 'tbody', null, ...rows))
}
