// Every committed round's model, newest first, each with a button that saves it in TF.js Layers
// format: a data scientist goes back to the round before the loss rose.
import type { RoundView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { fraction } from './format.ts'
import { fill, th } from './tables.ts'

/** Committed rounds, newest first: the ones that have a model to save. */
export const committedRounds = (rounds: readonly RoundView[]) =>
  rounds.filter((r) => r.status === 'committed' && r.model !== null).reverse()

/** Fills `table`; each button carries its round in `data-round` for one delegated listener. */
export function renderRoundModels(
  doc: Document,
  table: HTMLTableElement,
  rounds: readonly RoundView[],
): void {
  const committed = committedRounds(rounds)
  const rows = committed.map((r) => {
    const button = h(doc, 'button', 'small', 'Download')
    button.type = 'button'
    button.dataset.round = String(r.round)
    button.setAttribute('aria-label', `Download round ${r.round}'s model`)
    const tr = h(
      doc,
      'tr',
      null,
      th(doc, String(r.round), 'row'),
      // The button before the figures: on a phone it stays in view as the table scrolls.
      h(doc, 'td', null, button),
      h(doc, 'td', null, fraction(r.accuracy)),
      h(doc, 'td', null, r.loss === null ? '–' : r.loss.toFixed(3)),
      h(doc, 'td', null, h(doc, 'code', null, r.model!.slice(0, 12))),
    )
    tr.dataset.round = String(r.round)
    return tr
  })
  if (rows.length === 0)
    rows.push(h(doc, 'tr', null, h(doc, 'td', null, 'No round committed yet.')))
  fill(doc, table, ['Round', 'TF.js files', 'Held-out accuracy', 'Held-out loss', 'Model'], rows)
}
