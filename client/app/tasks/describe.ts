// A task in the words its owner reads: what it asks (rounds with deadlines, or FedBuff's model
// versions), how it ended, and whether it may be joined at all. Pure: the cards, the join
// confirmation and the Try screen all say it the same way.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { isEnded } from '../../../shared/protocol/ended.ts'
import { formatAccuracy, formatBytes, formatWhen } from './format.ts'

export { isEnded }
export { formatAccuracy, formatBytes, formatWhen } from './format.ts'

const seconds = (s: number) =>
  s < 120 ? `${Math.round(s)} seconds` : `${Math.round(s / 60).toLocaleString('en')} minutes`

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`

/**
 * Whether a phone may offer Join for `task`: one that has not ended, whose data scientist said
 * why they ask. The coordinator refuses a task without a purpose; this holds even if one came.
 */
export const joinable = (task: DeviceTaskView): boolean =>
  !isEnded(task.status) && task.purpose.trim() !== ''

/** What leaves this phone, per round or (async) each time it trains. */
export function sentText(task: DeviceTaskView): string {
  const kB = formatBytes(task.updateBytes)
  return task.mode === 'async'
    ? `A weight update of ${kB} each time it trains, never your examples.`
    : `A weight update of ${kB} per round, never your examples.`
}

/**
 * How the task's training goes, as [term, words] pairs: a sync task's rounds and the time each
 * gives to answer; an async (FedBuff) task's model versions, buffer, staleness and concurrency.
 */
export function progressFacts(task: DeviceTaskView): [string, string][] {
  const { committed, total, deadlineSeconds } = task.rounds
  const done = `${committed.toLocaleString('en')} of ${total.toLocaleString('en')}`
  const accuracy: [string, string][] =
    task.accuracy === null
      ? []
      : [['Held-out accuracy', `${formatAccuracy(task.accuracy)}, on the coordinator’s test set`]]
  if (task.mode !== 'async' || !task.async) {
    const each = isEnded(task.status) ? '' : `; ${seconds(deadlineSeconds)} to answer each`
    return [['Rounds', `${done} done${each}`], ...accuracy]
  }
  const { bufferSize, maxStaleness, concurrency } = task.async
  return [
    ['Model versions', `${done} committed, with no rounds or deadlines`],
    ['New version', `every ${plural(bufferSize, 'update')} from phones, as they arrive`],
    [
      'Staleness allowed',
      maxStaleness === 0
        ? 'only updates trained on the latest version count'
        : `an update counts if trained on a version at most ${plural(maxStaleness, 'version')} old`,
    ],
    ['Phones at once', `up to ${plural(concurrency, 'phone')} training at the same time`],
    ...accuracy,
  ]
}

/**
 * How an ended task ended, in one sentence: when, how far it got, and how good its final model
 * is. Undefined for a task that has not ended.
 */
export function endedText(task: DeviceTaskView): string | undefined {
  if (!isEnded(task.status)) return undefined
  const unit = task.mode === 'async' ? 'model version' : 'round'
  const { committed, total } = task.rounds
  const when = task.endedAt ? ` on ${formatWhen(task.endedAt)}` : ''
  const far = `after ${committed.toLocaleString('en')} of ${plural(total, unit)}`
  const final =
    task.accuracy === null
      ? ' Its final model was not measured on a test set.'
      : ` Final held-out accuracy: ${formatAccuracy(task.accuracy)}.`
  if (task.status === 'failed')
    return `Failed${when}, ${far}: the coordinator could not go on with it.${final}`
  // The one reason a task stops before its rounds are done; the coordinator's words are technical.
  if (task.stoppedReason)
    return `Stopped early${when}, ${far}: one more would have spent more privacy than its budget allows.${final}`
  return `Completed${when}, ${far}.${final}`
}

/** The state pill of an ended task. */
export const endedLabel = (task: DeviceTaskView): string =>
  task.status === 'failed' ? 'Failed' : task.stoppedReason ? 'Stopped early' : 'Completed'
