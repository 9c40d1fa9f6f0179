// A task's consent terms as the embedding app shows them to its user: the same words the phone
// app shows on its Join card (why the data scientist asks, what leaves the device, the rounds,
// the privacy it offers), as plain data the app lays out its own way.
import type { DeviceTaskView } from '../../shared/protocol/index.ts'
import { joinable, progressFacts, sentText } from '../app/tasks/describe.ts'
import { privacyTerms } from '../app/privacy/terms.ts'

export interface TaskTerms {
  /** Why the data scientist wants this. */
  purpose: string
  /** What leaves the device: a weight update of N kB per round, never examples. */
  sent: string
  /** How training goes, as [term, words] pairs (rounds and deadlines, or async versions). */
  rounds: [string, string][]
  /** Differential privacy and secure aggregation in sentences, and what the coordinator sees. */
  privacy: string[]
  /** Why it cannot be joined ('' when it can). */
  why: string
}

export interface EmbedTask {
  id: string
  name: string
  status: DeviceTaskView['status']
  model: DeviceTaskView['model']
  /** Held-out accuracy of its latest model (0..1), or null. */
  accuracy: number | null
  /** The user agreed to it (consent), on this device. */
  consented: boolean
  /** Running or paused, with a purpose: it may be agreed to. */
  joinable: boolean
  terms: TaskTerms
}

export function describeTask(task: DeviceTaskView, consented: boolean): EmbedTask {
  const open = joinable(task)
  return {
    id: task.id,
    name: task.name,
    status: task.status,
    model: task.model,
    accuracy: task.accuracy,
    consented,
    joinable: open,
    terms: {
      purpose: task.purpose,
      sent: sentText(task),
      rounds: progressFacts(task),
      privacy: privacyTerms(task.privacy),
      why: open
        ? ''
        : task.purpose.trim() === ''
          ? 'its data scientist gave no purpose'
          : `it has ${task.status}`,
    },
  }
}
