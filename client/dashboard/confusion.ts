// Where the held-out errors go: the confusion matrix of one committed round (the latest, or the
// one chosen), rows the true label and columns the predicted class, each cell also a share of
// its row so that a rare label's errors read as plainly as a common one's.
import type { RoundView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { count, percent } from './format.ts'
import { fill, th } from './tables.ts'

export interface ConfusionTable {
  round: number
  /** Counts by true label (row) and predicted class (column). */
  rows: number[][]
  /** Held-out examples of each true label. */
  totals: number[]
  /** The rounds that have a matrix, newest first (the choices). */
  rounds: number[]
}

/** The matrix of round `chosen` if it has one, else of the latest round that has. */
export function confusionTable(
  rounds: readonly RoundView[],
  chosen: number | null,
): ConfusionTable | null {
  const withMatrix = rounds.filter((r) => r.confusion !== null).reverse()
  const shown = withMatrix.find((r) => r.round === chosen) ?? withMatrix[0]
  if (!shown?.confusion) return null
  return {
    round: shown.round,
    rows: shown.confusion.map((row) => [...row]),
    totals: shown.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
    rounds: withMatrix.map((r) => r.round),
  }
}

export interface ConfusionElements {
  table: HTMLTableElement
  choose: HTMLSelectElement
  note: HTMLElement
}

export function renderConfusion(
  doc: Document,
  el: ConfusionElements,
  rounds: readonly RoundView[],
  chosen: number | null,
  /** The task's class names by label; a label without one shows its number. */
  classes: readonly string[] = [],
): void {
  const name = (label: number) => classes[label] ?? String(label)
  const table = confusionTable(rounds, chosen)
  el.choose.hidden = !table
  el.note.textContent = table
    ? `Round ${table.round}: each row is a true label, each column the class the model predicted; the diagonal is right.`
    : 'No round evaluated on held-out examples yet.'
  if (!table) {
    fill(doc, el.table, [], [])
    return
  }
  const options = table.rounds.map((n, i) => {
    const option = h(doc, 'option', null, i === 0 ? `Round ${n} (latest)` : `Round ${n}`)
    option.value = String(n)
    return option
  })
  if (el.choose.options.length !== options.length || el.choose.value !== String(table.round)) {
    el.choose.replaceChildren(...options)
    el.choose.value = String(table.round)
  }
  fill(
    doc,
    el.table,
    ['True', ...Array.from({ length: table.rows.length }, (_, c) => name(c)), 'Examples'],
    table.rows.map((row, label) => {
      const total = table.totals[label]!
      const tr = h(
        doc,
        'tr',
        null,
        th(doc, name(label), 'row'),
        ...row.map((n, predicted) => {
          const td = h(doc, 'td', null, n === 0 ? '·' : count(n))
          const share = total === 0 ? 0 : n / total
          td.style.setProperty('--share', String(share))
          td.className = predicted === label ? 'hit' : n > 0 ? 'miss' : ''
          td.title = `${count(n)} of ${count(total)} held-out ${name(label)} predicted as ${name(predicted)} (${percent(share)})`
          return td
        }),
        h(doc, 'td', null, count(total)),
      )
      tr.dataset.label = String(label)
      return tr
    }),
  )
}
