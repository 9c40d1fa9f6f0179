// Who trained the model, summed over the rounds: reports and examples by speed tier and by
// backend. If the slow tier's share of examples is far below its share of devices, the model
// caters to people with faster phones (the Duet tutorial's straggler question).
import type { RoundView } from '../../shared/protocol/index.ts'
import { h } from '../app/dom.ts'
import { backendName, participation, tierName, type ShareRow } from './charts/data.ts'
import { count, percent } from './format.ts'

function renderTable<K extends string>(
  doc: Document,
  table: HTMLTableElement,
  rows: ShareRow<K>[],
  name: (key: K) => string,
): void {
  const caption = table.caption
  const head = h(
    doc,
    'thead',
    null,
    h(
      doc,
      'tr',
      null,
      ...['', 'Reports', 'Examples', 'Share of examples'].map((t) => h(doc, 'th', null, t)),
    ),
  )
  head.querySelectorAll('th').forEach((th) => th.setAttribute('scope', 'col'))
  const body = h(
    doc,
    'tbody',
    null,
    ...rows.map((row) => {
      const bar = h(doc, 'span', 'share-bar')
      bar.style.setProperty('--share', String(row.exampleShare))
      bar.setAttribute('aria-hidden', 'true')
      const th = h(doc, 'th', null, name(row.key))
      th.setAttribute('scope', 'row')
      const tr = h(
        doc,
        'tr',
        null,
        th,
        h(doc, 'td', null, `${count(row.devices)} (${percent(row.deviceShare)})`),
        h(doc, 'td', null, count(row.examples)),
        h(doc, 'td', 'share', bar, percent(row.exampleShare)),
      )
      tr.dataset.key = row.key
      return tr
    }),
  )
  table.replaceChildren(...(caption ? [caption] : []), head, body)
}

export function renderFairness(
  doc: Document,
  tables: { byTier: HTMLTableElement; byBackend: HTMLTableElement },
  rounds: readonly RoundView[],
): void {
  const { byTier, byBackend } = participation(rounds)
  renderTable(doc, tables.byTier, byTier, tierName)
  renderTable(doc, tables.byBackend, byBackend, backendName)
}
