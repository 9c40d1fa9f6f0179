// A round's traffic by codec (issue 18): bytes of updates up and of models down, per codec or
// encoding, as a small table under the round's stages. Hidden while the round moved no bytes.
import type { RoundView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { bytes, percent } from './format.ts'

export interface TrafficRow {
  /** A codec or encoding name (`float32`, `int8`, `bbit1`, `masked`, `unreadable`…). */
  codec: string
  up: number
  down: number
}

/**
 * One row per codec that moved bytes this round, up or down, the most bytes first (ties by
 * name), then a `total` row: its up and down are the round's bytesUp and bytesDown.
 */
export function trafficRows(round: RoundView): TrafficRow[] {
  const codecs = new Set([
    ...Object.keys(round.bytesUpByCodec),
    ...Object.keys(round.bytesDownByEncoding),
  ])
  const rows = [...codecs].map((codec) => ({
    codec,
    up: round.bytesUpByCodec[codec] ?? 0,
    down: round.bytesDownByEncoding[codec] ?? 0,
  }))
  rows.sort((a, b) => b.up + b.down - (a.up + a.down) || a.codec.localeCompare(b.codec))
  if (rows.length === 0) return []
  return [...rows, { codec: 'total', up: round.bytesUp, down: round.bytesDown }]
}

/** A share of the round's bytes in one direction, for the table's cells ("" for none). */
const cell = (n: number, total: number) =>
  n === 0 ? '–' : total > 0 && n < total ? `${bytes(n)} (${percent(n / total)})` : bytes(n)

/** Draws the round's traffic table into `table` (emptied and hidden when there is none). */
export function renderTraffic(doc: Document, table: HTMLTableElement, round: RoundView): void {
  const rows = trafficRows(round)
  table.hidden = rows.length === 0
  const head = h(
    doc,
    'tr',
    null,
    h(doc, 'th', null, 'Codec'),
    h(doc, 'th', null, 'Bytes up'),
    h(doc, 'th', null, 'Bytes down'),
  )
  table.replaceChildren(
    h(doc, 'caption', null, 'Traffic this round, by codec'),
    h(doc, 'thead', null, head),
    h(
      doc,
      'tbody',
      null,
      ...rows.map((r) => {
        const tr = h(
          doc,
          'tr',
          r.codec === 'total' ? 'traffic-total' : null,
          h(doc, 'th', null, r.codec),
          h(doc, 'td', null, cell(r.up, round.bytesUp)),
          h(doc, 'td', null, cell(r.down, round.bytesDown)),
        )
        tr.dataset.codec = r.codec
        return tr
      }),
    ),
  )
}
