// The Datasets view (GET /api/v1/datasets): each declared dataset's description, tags, example
// shape, classes by name, held-out set and what devices hold of it, counts and a histogram by
// class, never examples; and names devices hold that no one declared. A search box filters it.
import type { DatasetListing } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { count } from './format.ts'

/** The coordinator's activity window (server/devices: ACTIVE_WINDOW_MS), for the words. */
const ACTIVE_MINUTES = 10

/** The server's search (name, description, tags; case-insensitive), run on the list in hand. */
export function matchesQuery(d: DatasetListing, query: string): boolean {
  const q = query.trim().toLowerCase()
  if (q === '') return true
  const texts = d.declared ? [d.name, d.description, ...d.tags] : [d.name]
  return texts.some((t) => t.toLowerCase().includes(q))
}

/** "28×28 grayscale images", "32×32 RGB images", "4 columns (a, b, c, d)". */
export function featuresText(d: Extract<DatasetListing, { declared: true }>): string {
  const f = d.features
  if (f.kind === 'image')
    return `${f.height}×${f.width} ${f.channels === 1 ? 'grayscale' : 'RGB'} images`
  const names = f.columns.map((c) => c.name)
  const shown = names.length > 8 ? [...names.slice(0, 8), '…'] : names
  return `${count(names.length)} column${names.length === 1 ? '' : 's'} (${shown.join(', ')})`
}

export function heldOutText(d: Extract<DatasetListing, { declared: true }>): string {
  if (!d.heldOut) return 'No held-out set: its tasks train without held-out evaluation.'
  const when = d.heldOut.uploadedAt.slice(0, 16).replace('T', ' ')
  return `Held-out set: ${count(d.heldOut.examples)} examples (uploaded ${when} UTC).`
}

/** Bars for the eye, the same numbers in words for a screen reader. */
function histogram(doc: Document, labels: readonly number[], names: readonly string[]) {
  const most = Math.max(1, ...labels)
  const name = (label: number) => names[label] ?? String(label)
  const bars = h(
    doc,
    'ol',
    'histogram',
    ...labels.map((n, label) => {
      const bar = h(doc, 'span', 'hbar')
      bar.style.setProperty('--h', String(n / most))
      const item = h(doc, 'li', null, bar, h(doc, 'span', 'hlabel', name(label)))
      item.title = `${name(label)}: ${count(n)}`
      return item
    }),
  )
  bars.setAttribute('aria-hidden', 'true')
  const words = h(
    doc,
    'p',
    'sr',
    `Examples per class: ${labels.map((n, label) => `${name(label)}: ${n}`).join(', ')}.`,
  )
  return [bars, words]
}

function item(doc: Document, d: DatasetListing): HTMLLIElement {
  const held = ` ${count(d.examples)} examples on ${count(d.devices.active)} active device${d.devices.active === 1 ? '' : 's'} (${count(d.devices.enrolled)} enrolled)`
  const bars = d.labels.some((n) => n > 0)
    ? histogram(doc, d.labels, d.declared ? d.classes : [])
    : []
  const li = d.declared
    ? h(
        doc,
        'li',
        'dataset',
        h(doc, 'strong', null, d.name),
        held,
        ...(d.description ? [h(doc, 'p', 'hint', d.description)] : []),
        h(
          doc,
          'p',
          'facts',
          [
            featuresText(d),
            `${count(d.classes.length)} classes: ${d.classes.join(', ')}`,
            ...(d.tags.length > 0 ? [`tags: ${d.tags.join(', ')}`] : []),
            `${count(d.tasks)} task${d.tasks === 1 ? '' : 's'}`,
            d.deviceLabelling ? 'phones may label examples' : 'no labelling on phones',
          ].join(' · '),
        ),
        h(doc, 'p', d.heldOut ? 'held-out' : 'held-out none', heldOutText(d)),
        ...bars,
      )
    : h(
        doc,
        'li',
        'dataset undeclared',
        h(doc, 'strong', null, d.name),
        held,
        h(
          doc,
          'p',
          'hint',
          'Not declared: devices hold it, but no task can train on it until it is.',
        ),
        ...bars,
      )
  li.dataset.name = d.name
  li.dataset.declared = String(d.declared)
  return li
}

export function renderDatasets(
  doc: Document,
  list: HTMLUListElement,
  summary: HTMLElement,
  datasets: readonly DatasetListing[],
  query = '',
): void {
  const shown = datasets.filter((d) => matchesQuery(d, query))
  const declared = datasets.filter((d) => d.declared).length
  summary.textContent =
    datasets.length === 0
      ? 'No dataset is declared and no device holds any.'
      : `${count(declared)} declared, ${count(datasets.length - declared)} held by devices undeclared${query.trim() ? `; ${count(shown.length)} match "${query.trim()}"` : ''}. Device counts are of the active devices (seen in the last ${ACTIVE_MINUTES} minutes); gone ones are only counted as enrolled.`
  list.replaceChildren(...shown.map((d) => item(doc, d)))
}
