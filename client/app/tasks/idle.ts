// Why the phone is not training, in plain words, and what would make it train: said from what the
// phone knows (its owner's decisions, the coordinator's list, the examples it holds) rather than
// in the coordinator's terms.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { isEnded } from '../../../shared/protocol/ended.ts'
import type { ConsentRecord } from '../storage/index.ts'

export interface IdleFacts {
  consents: readonly Pick<ConsentRecord, 'taskId' | 'taskName' | 'dataset' | 'state'>[]
  /** The coordinator's list; null when it could not be asked. */
  tasks: readonly Pick<DeviceTaskView, 'id' | 'name' | 'status' | 'dataset'>[] | null
  /** Examples stored per dataset (a dataset not in it: none). */
  examples: ReadonlyMap<string, number>
}

const names = (items: readonly { name: string }[]) => {
  const quoted = items.map((i) => `“${i.name}”`)
  return quoted.length <= 1
    ? (quoted[0] ?? '')
    : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`
}

/**
 * The reason to show while nothing trains, or null when what the phone knows does not explain it
 * (then the coordinator's answer does: it has no round open, say).
 */
export function idleReason({ consents, tasks, examples }: IdleFacts): string | null {
  if (consents.length === 0)
    return 'Nothing to train: you have not joined a task. Read one below and join it if you agree.'
  const listed = tasks && new Map(tasks.map((t) => [t.id, t]))
  // The tasks joined that still train, as far as the phone knows.
  const live = consents
    .map((c) => ({ consent: c, task: listed?.get(c.taskId) }))
    .filter(({ task }) => (listed ? task !== undefined && !isEnded(task.status) : true))
  if (live.length === 0)
    return (
      'Nothing to train: no task you joined is running (each ended or was removed). ' +
      'Join a task below when one is offered.'
    )
  const granted = live.filter(({ consent }) => consent.state === 'granted')
  if (granted.length === 0)
    return 'Nothing to train: you paused the tasks you joined. Resume one below to train.'
  const running = granted.filter(({ task }) => task?.status !== 'paused')
  if (running.length === 0) {
    const paused = granted.map(({ consent }) => ({ name: consent.taskName }))
    return `Nothing to train: the data scientist paused ${names(paused)} for now. It trains again when they resume.`
  }
  const starved = running.filter(({ consent }) => (examples.get(consent.dataset) ?? 0) === 0)
  if (starved.length === running.length) {
    const datasets = [...new Set(starved.map(({ consent }) => consent.dataset))]
    const tasksNamed = names(starved.map(({ consent }) => ({ name: consent.taskName })))
    const needs = starved.length === 1 ? 'needs' : 'need'
    return (
      `Nothing to train: ${tasksNamed} ${needs} examples of the dataset ` +
      `${names(datasets.map((name) => ({ name })))}: add some on Data.`
    )
  }
  return null
}
