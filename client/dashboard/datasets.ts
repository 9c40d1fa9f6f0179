// What the devices hold (GET /api/v1/datasets): counts and label histograms, never examples.
import { h } from '../ui/dom.ts'
import type { DatasetView } from './api.ts'
import { count } from './format.ts'

/** The coordinator's activity window (server/devices: ACTIVE_WINDOW_MS), for the words. */
const ACTIVE_MINUTES = 10

export function renderDatasets(
  doc: Document,
  list: HTMLUListElement,
  summary: HTMLElement,
  datasets: DatasetView[],
): void {
  summary.textContent =
    datasets.length === 0
      ? 'No device has declared any data yet.'
      : `${datasets.length} dataset${datasets.length === 1 ? '' : 's'} declared by devices. Counts are of the active devices (seen in the last ${ACTIVE_MINUTES} minutes); gone ones are only counted as enrolled.`
  list.replaceChildren(
    ...datasets.map((d) => {
      const most = Math.max(1, ...d.labels)
      const bars = h(
        doc,
        'ol',
        'histogram',
        ...d.labels.map((n, label) => {
          const bar = h(doc, 'span', 'hbar')
          bar.style.setProperty('--h', String(n / most))
          const item = h(doc, 'li', null, bar, h(doc, 'span', 'hlabel', String(label)))
          item.title = `label ${label}: ${count(n)}`
          return item
        }),
      )
      bars.setAttribute('aria-hidden', 'true')
      // The bars are for the eye; the same numbers in words for a screen reader.
      const words = h(
        doc,
        'p',
        'sr',
        `Examples per label: ${d.labels.map((n, label) => `${label}: ${n}`).join(', ')}.`,
      )
      const item = h(
        doc,
        'li',
        'dataset',
        h(doc, 'strong', null, d.name),
        ` ${count(d.examples)} examples on ${count(d.devices.active)} active device${d.devices.active === 1 ? '' : 's'} (${count(d.devices.enrolled)} enrolled)`,
        ...(d.labels.length > 0 ? [bars, words] : []),
      )
      item.dataset.name = d.name
      return item
    }),
  )
}
