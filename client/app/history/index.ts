import { byId, h } from '../../ui/dom.ts'
import type { Codec } from '../../../shared/tensors/index.ts'
import type { HistoryOutcome, HistoryRecord, PollenDatabase } from '../storage/index.ts'
import { formatBytes } from '../tasks/format.ts'
import { pendingUploads } from '../outbox/index.ts'
import type { PendingUpload, RoundDownload } from '../storage/index.ts'
import { listHistory } from './store.ts'

export { listHistory, recordRound } from './store.ts'

/** How each outcome reads to the owner. */
export const OUTCOME_TEXT: Record<HistoryOutcome, string> = {
  accepted: 'Accepted',
  late: 'Late',
  duplicate: 'Already sent',
  'unknown-round': 'Round gone',
  rejected: 'Rejected',
  stale: 'Too stale',
  failed: 'Failed',
  stopped: 'Stopped',
  expired: 'Expired offline',
}

export interface HistoryScreenOptions {
  db: PollenDatabase
  document?: Document
}

const duration = (ms: number) =>
  ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`

/** The history screen: every round this phone joined, newest first. */
export function mountHistoryScreen({ db, document = globalThis.document }: HistoryScreenOptions) {
  const list = byId(document, 'history-list', HTMLOListElement)
  const summary = byId(document, 'history-summary', HTMLParagraphElement)

  function row(r: HistoryRecord): HTMLLIElement {
    const when = new Date(r.finishedAt)
    const time = h(
      document,
      'time',
      null,
      when.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' }),
    )
    time.dateTime = when.toISOString()
    const item = h(
      document,
      'li',
      'card round',
      h(
        document,
        'div',
        'round-head',
        h(document, 'strong', 'task-name', r.taskName),
        h(document, 'span', `outcome ${r.outcome}`, OUTCOME_TEXT[r.outcome]),
      ),
      h(
        document,
        'dl',
        'facts',
        ...pair('Round', String(r.round)),
        ...pair('Examples used', r.examples.toLocaleString('en')),
        ...downloaded(r),
        ...pair('Sent', formatBytes(r.bytesSent)),
        ...encoding(r.codec),
        ...pair('Backend', r.backend),
        ...pair('Took', duration(r.finishedAt - r.startedAt)),
      ),
      h(document, 'p', 'hint', time),
    )
    if (r.detail) item.append(h(document, 'p', 'hint detail', r.detail))
    item.dataset.outcome = r.outcome
    item.dataset.bytesSent = String(r.bytesSent)
    if (r.codec) item.dataset.codec = r.codec
    if (r.bytesDown !== undefined) item.dataset.bytesDown = String(r.bytesDown)
    if (r.downloadEncoding) item.dataset.downloadEncoding = r.downloadEncoding
    item.dataset.round = String(r.round)
    item.dataset.taskId = r.taskId
    return item
  }

  /** An update trained but not sent yet (offline): it waits at the top of the list. */
  function waitingRow(u: PendingUpload): HTMLLIElement {
    const item = h(
      document,
      'li',
      'card round',
      h(
        document,
        'div',
        'round-head',
        h(document, 'strong', 'task-name', u.taskName),
        h(document, 'span', 'outcome waiting', 'Waiting to send'),
      ),
      h(
        document,
        'dl',
        'facts',
        ...pair('Round', String(u.round)),
        ...pair('Examples used', u.examples.toLocaleString('en')),
        ...downloaded(u),
        ...pair('To send', formatBytes(u.body.byteLength)),
        ...encoding(u.codec),
        ...pair('Backend', u.backend),
        ...pair('Deadline', new Date(u.deadlineAt).toLocaleTimeString('en')),
      ),
      h(document, 'p', 'hint', 'Sent when the network returns, if before the deadline.'),
    )
    item.dataset.outcome = 'waiting'
    item.dataset.round = String(u.round)
    item.dataset.taskId = u.taskId
    return item
  }

  const pair = (term: string, value: string) => [
    h(document, 'dt', null, term),
    h(document, 'dd', null, value),
  ]
  /** The round's model as it came (nothing where it was held); unknown before it was counted. */
  const downloaded = ({ bytesDown, downloadEncoding }: RoundDownload) =>
    bytesDown === undefined
      ? []
      : pair(
          'Downloaded',
          downloadEncoding ? `${formatBytes(bytesDown)}, ${downloadEncoding}` : 'nothing (held)',
        )
  /** The update's codec, where it has one (a secure round's masked sum has none). */
  const encoding = (codec: Codec | undefined) => (codec ? pair('Encoding', codec) : [])

  async function refresh(): Promise<void> {
    const [rounds, waiting] = await Promise.all([listHistory(db), pendingUploads(db)])
    list.replaceChildren(...waiting.map(waitingRow), ...rounds.map(row))
    if (rounds.length === 0 && waiting.length === 0) {
      summary.textContent = 'No rounds yet. Join a task on the Tasks screen to contribute.'
      return
    }
    const accepted = rounds.filter((r) => r.outcome === 'accepted').length
    const sent = rounds.reduce((a, r) => a + r.bytesSent, 0)
    const done =
      rounds.length === 0
        ? ''
        : `${rounds.length} round${rounds.length === 1 ? '' : 's'} joined, ${accepted} accepted; ` +
          `${formatBytes(sent)} of weight updates sent, no examples.`
    const queued =
      waiting.length === 0
        ? ''
        : `${waiting.length} update${waiting.length === 1 ? ' waits' : 's wait'} for the network.`
    summary.textContent = [done, queued].filter(Boolean).join(' ')
  }

  return { refresh }
}

export type HistoryScreen = ReturnType<typeof mountHistoryScreen>
