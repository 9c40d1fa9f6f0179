// Each device of the round on one line: when it was selected, downloaded the model, and
// answered, drawn against the round's span, and said in words for screen readers.
import type { RoundView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { bytes, count, offset } from './format.ts'
import type { DeviceTrack } from './state.ts'

const STATE_WORDS: Record<DeviceTrack['state'], string> = {
  assigned: 'downloading the model',
  downloaded: 'training',
  reported: 'uploaded, accepted',
  late: 'late',
  rejected: 'update rejected',
}

export function renderTimeline(
  doc: Document,
  list: HTMLOListElement,
  round: RoundView,
  devices: readonly DeviceTrack[],
  now: number,
): void {
  const start = Date.parse(round.startedAt)
  const times = devices.flatMap((d) => [d.assignedAt, d.downloadedAt, d.answeredAt])
  const end = Math.max(
    round.closedAt ? Date.parse(round.closedAt) : now,
    round.deadlineAt && round.status === 'open' ? Date.parse(round.deadlineAt) : 0,
    ...times.map((t) => t ?? 0),
    start + 1000,
  )
  const at = (t: number) => `${(((t - start) / (end - start)) * 100).toFixed(2)}%`
  const sorted = [...devices].sort((a, b) => (a.assignedAt ?? 0) - (b.assignedAt ?? 0))
  // A device still out when the round closed did not answer: it dropped.
  const closed = round.status !== 'open'
  list.replaceChildren(
    ...sorted.map((d) => {
      const dropped = closed && (d.state === 'assigned' || d.state === 'downloaded')
      const state = dropped ? 'dropped' : d.state
      const name = d.label ?? `device ${d.deviceId.slice(0, 8)}`
      const facts = [
        d.backend,
        d.tier === 'unknown' ? null : `${d.tier} tier`,
        d.examples ? `${count(d.examples)} examples` : null,
        d.bytesUp ? bytes(d.bytesUp) : null,
      ].filter((f): f is string => f !== null)
      const steps = [
        d.assignedAt === null ? null : `selected ${offset(d.assignedAt - start)}`,
        d.downloadedAt === null ? null : `downloaded ${offset(d.downloadedAt - start)}`,
        d.answeredAt === null ? null : `${state} ${offset(d.answeredAt - start)}`,
      ].filter((s): s is string => s !== null)

      const track = h(doc, 'div', 'track')
      track.setAttribute('aria-hidden', 'true')
      const from = d.assignedAt ?? start
      const span = (cls: string, a: number, b: number) => {
        const s = h(doc, 'span', cls)
        s.style.left = at(a)
        s.style.width = `calc(${at(b)} - ${at(a)})`
        return s
      }
      const trainingFrom = d.downloadedAt ?? null
      const stop = d.answeredAt ?? (closed && round.closedAt ? Date.parse(round.closedAt) : now)
      track.append(span('seg-downloading', from, trainingFrom ?? stop))
      if (trainingFrom !== null) track.append(span('seg-training', trainingFrom, stop))
      if (d.answeredAt !== null || dropped) {
        const mark = h(doc, 'span', `mark mark-${state}`)
        mark.style.left = at(stop)
        track.append(mark)
      }
      const item = h(
        doc,
        'li',
        'device',
        h(doc, 'span', 'device-name', name),
        h(doc, 'span', `device-state state-${state}`, dropped ? 'dropped' : STATE_WORDS[d.state]),
        h(doc, 'span', 'hint device-facts', [...facts, ...steps].join(' · ')),
        track,
      )
      item.dataset.state = state
      return item
    }),
  )
}
