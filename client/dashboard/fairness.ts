// Who trained the model, summed over the rounds: reports and examples by speed tier and by
// backend, and how much was partial work. If the slow tier's share of examples is far below its
// share of devices, the model caters to people with faster phones (the Duet tutorial's straggler
// question). Then the latest rounds one by one: each one's examples by tier, backend and partial
// work, and the held-out accuracy of each label, which shows whom the model serves worst.
import type { RoundView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import {
  BACKENDS,
  backendName,
  labelAccuracy,
  participation,
  roundShares,
  SPEED_TIERS,
  tierName,
  type ShareRow,
} from './charts/data.ts'
import { count, fraction, percent } from './format.ts'
import { fill, th } from './tables.ts'

/** Rounds the per-round tables show. */
const LATEST = 5

export interface FairnessElements {
  byTier: HTMLTableElement
  byBackend: HTMLTableElement
  partial: HTMLElement
  byRound: HTMLTableElement
  byLabel: HTMLTableElement
}

function renderTable<K extends string>(
  doc: Document,
  table: HTMLTableElement,
  rows: ShareRow<K>[],
  name: (key: K) => string,
): void {
  fill(
    doc,
    table,
    ['', 'Reports', 'Examples', 'Share of examples'],
    rows.map((row) => {
      const bar = h(doc, 'span', 'share-bar')
      bar.style.setProperty('--share', String(row.exampleShare))
      bar.setAttribute('aria-hidden', 'true')
      const tr = h(
        doc,
        'tr',
        null,
        th(doc, name(row.key), 'row'),
        h(doc, 'td', null, `${count(row.devices)} (${percent(row.deviceShare)})`),
        h(doc, 'td', null, count(row.examples)),
        h(doc, 'td', 'share', bar, percent(row.exampleShare)),
      )
      tr.dataset.key = row.key
      return tr
    }),
  )
}

/** The partial work over all rounds in words, out of `reports` reports in all. */
export function partialSummary(partial: ShareRow<'partial'>, reports: number): string {
  if (reports === 0) return 'Partial work: no reports yet.'
  if (partial.devices === 0)
    return `Partial work: none of the ${count(reports)} report${reports === 1 ? '' : 's'} stopped short of its plan.`
  return (
    `Partial work: ${count(partial.devices)} of ${count(reports)} reports ` +
    `(${percent(partial.deviceShare)}) stopped short of their plan as the deadline neared, ` +
    `with ${percent(partial.exampleShare)} of the examples.`
  )
}

const shareCell = (doc: Document, share: number | null) =>
  h(doc, 'td', null, share === null ? '–' : percent(share))

function renderRounds(doc: Document, table: HTMLTableElement, rounds: readonly RoundView[]) {
  const titles = ['Round', 'Examples', ...SPEED_TIERS.map(tierName), ...BACKENDS.map(backendName)]
  fill(
    doc,
    table,
    [...titles, 'Partial'],
    roundShares(rounds, LATEST).map((r) => {
      const tr = h(
        doc,
        'tr',
        null,
        th(doc, r.status === 'open' ? `${r.round} (open)` : String(r.round), 'row'),
        h(doc, 'td', null, count(r.examples)),
        ...SPEED_TIERS.map((tier) => shareCell(doc, r.byTier[tier])),
        ...BACKENDS.map((backend) => shareCell(doc, r.byBackend[backend])),
        shareCell(doc, r.partial),
      )
      tr.dataset.round = String(r.round)
      return tr
    }),
  )
}

function renderLabels(
  doc: Document,
  table: HTMLTableElement,
  rounds: readonly RoundView[],
  classes: readonly string[],
) {
  const accuracy = labelAccuracy(rounds, LATEST)
  const rows = accuracy.labels.map((cells, label) => {
    const tr = h(
      doc,
      'tr',
      null,
      th(doc, classes[label] ?? String(label), 'row'),
      ...cells.map((a, i) => {
        const td = h(doc, 'td', null, fraction(a))
        if (a === null) td.title = 'No held-out examples of this label'
        if (accuracy.worst[i] === label) {
          td.className = 'worst'
          td.append(h(doc, 'span', 'sr', ' (least right this round)'))
        }
        return td
      }),
    )
    tr.dataset.label = String(label)
    return tr
  })
  if (rows.length === 0) {
    rows.push(
      h(doc, 'tr', null, h(doc, 'td', null, 'No round evaluated on held-out examples yet.')),
    )
  }
  fill(
    doc,
    table,
    [classes.length > 0 ? 'Class' : 'Label', ...accuracy.rounds.map((n) => `Round ${n}`)],
    rows,
  )
}

export function renderFairness(
  doc: Document,
  el: FairnessElements,
  rounds: readonly RoundView[],
  /** The task's class names by label (its dataset's); a label without one shows its number. */
  classes: readonly string[] = [],
): void {
  const { byTier, byBackend, partial } = participation(rounds)
  renderTable(doc, el.byTier, byTier, tierName)
  renderTable(doc, el.byBackend, byBackend, backendName)
  const reports = byTier.reduce((n, row) => n + row.devices, 0)
  el.partial.textContent = partialSummary(partial, reports)
  renderRounds(doc, el.byRound, rounds)
  renderLabels(doc, el.byLabel, rounds, classes)
}
