// What the contribute loop may train now, from the owner's decisions, the conditions and the
// examples held; and, when nothing, why in plain words.
import type { Examples } from '../../../shared/data/index.ts'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import {
  type CheckpointRecord,
  type ConsentRecord,
  INDEXES,
  type PollenDatabase,
  readExamples,
  STORES,
} from '../storage/index.ts'
import { type ConditionSource, unmetConditions } from '../tasks/conditions.ts'
import type { ConsentStore } from '../tasks/consent.ts'
import { idleReason } from '../tasks/idle.ts'
import { deleteCheckpoint, findResumable } from './checkpoints.ts'

/** What may train now: a dataset with examples, and the round to resume on it, if any. */
export interface Work {
  type: 'work'
  /** Consents granted whose conditions hold now. */
  ready: ConsentRecord[]
  dataset: string
  examples: Examples
  saved?: CheckpointRecord
}

/** Nothing may train: `reason` says why as it is, `fallback` when the idle reasons do not. */
export type NoWork = { type: 'waiting'; reason: string } | { type: 'idle'; fallback: string }

export interface WorkSources {
  db: PollenDatabase
  consents: ConsentStore
  conditions: ConditionSource
  /** A task the coordinator said ended (its consent stays, but it is no work). */
  over: (taskId: string) => boolean
  now: () => number
}

/** Consents granted whose conditions hold now. */
export async function consentsReady(
  consents: ConsentStore,
  conditions: ConditionSource,
): Promise<ConsentRecord[]> {
  const signals = conditions.read()
  return (await consents.granted()).filter(
    (c) => unmetConditions(c.conditions, signals).length === 0,
  )
}

/**
 * What may train now: a round this phone was training when the page closed (if its deadline
 * still holds), else the first agreed task's dataset whose examples are stored.
 */
export async function findWork(sources: WorkSources): Promise<Work | NoWork> {
  const { db, consents, conditions, over, now } = sources
  // A task that ended keeps its consent (its card stays), but is no work to look for.
  const granted = (await consents.granted()).filter((c) => !over(c.taskId))
  if (granted.length === 0)
    return { type: 'idle', fallback: 'Nothing to train: join a task below to contribute.' }
  const signals = conditions.read()
  const ready = granted.filter((c) => unmetConditions(c.conditions, signals).length === 0)
  if (ready.length === 0) {
    const why = [...new Set(granted.flatMap((c) => unmetConditions(c.conditions, signals)))]
    return { type: 'waiting', reason: `Waiting: ${why.join('; ')}.` }
  }
  const held = new Map<string, Examples>()
  const examplesOf = async (dataset: string) => {
    let found = held.get(dataset)
    if (!found) held.set(dataset, (found = await readExamples(db, dataset)))
    return found
  }
  let saved = await findResumable(db, {
    ready: new Set(ready.map((c) => c.taskId)),
    exampleCount: async (dataset) => (await examplesOf(dataset)).count,
    now: now(),
  })
  // A secure round cannot resume: its keys and shares lived in the page that closed.
  if (saved?.assignment.secureAggregation) {
    await deleteCheckpoint(db, saved.taskId)
    saved = undefined
  }
  if (saved) {
    const dataset = saved.assignment.dataset
    return { type: 'work', ready, dataset, examples: await examplesOf(dataset), saved }
  }
  // Else one dataset at a time: the first agreed task's whose examples are stored.
  for (const dataset of new Set(ready.map((c) => c.dataset))) {
    const examples = await examplesOf(dataset)
    if (examples.count > 0) return { type: 'work', ready, dataset, examples }
  }
  return {
    type: 'idle',
    fallback:
      'Nothing to train: no examples are stored for the tasks that may train now. Add some on Data.',
  }
}

/**
 * Why the phone is idle, in plain words, from the owner's decisions, the coordinator's list
 * (asked only when some task was joined) and the examples held; `fallback` when those do not
 * explain it.
 */
export async function idleWhy(
  { db, consents }: Pick<WorkSources, 'db' | 'consents'>,
  tasks: () => Promise<DeviceTaskView[]>,
  fallback: string,
): Promise<string> {
  const joined = await consents.list()
  const listed = joined.length === 0 ? null : await tasks().catch(() => null)
  const examples = new Map<string, number>()
  for (const { dataset } of joined)
    examples.set(dataset, await db.countFromIndex(STORES.examples, INDEXES.byDataset, dataset))
  return idleReason({ consents: joined, tasks: listed, examples }) ?? fallback
}
