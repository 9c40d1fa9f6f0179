// What the embeddable client's module offers: `connect`'s options and the `Pollen` it answers.
import type { DatasetSpec } from '../../shared/protocol/index.ts'
import type { EmbedEvent } from './contribute.ts'
import type { ExampleInput } from './examples.ts'
import type { EmbedTask } from './terms.ts'

export interface ConnectOptions {
  /** The dataset (declared on the coordinator) the app contributes to. */
  dataset: string
  /** The coordinator's URL; default: the one that served this module. */
  coordinator?: string
  /** Told what training does: rounds, progress, idle reasons, errors (see EmbedEvent). */
  onEvent?: (event: EmbedEvent) => void
  /** A label for this device on the coordinator's dashboard. */
  label?: string
  /** How long to wait before looking for work again when there is none (default 30 s). */
  idleSeconds?: number
  /** The IndexedDB database (default `pollen-embed`). */
  databaseName?: string
  fetch?: typeof globalThis.fetch
}

export interface Counts {
  examples: number
  /** Examples per class, by the dataset's class names. */
  byClass: Record<string, number>
}

export interface Pollen {
  readonly coordinator: string
  /** The dataset as the coordinator declared it: its features, classes and words. */
  readonly dataset: DatasetSpec
  /** Checks and stores a batch, all or nothing; answers the counts after it. */
  addExamples(examples: readonly ExampleInput[]): Promise<Counts>
  counts(): Promise<Counts>
  /** Deletes every example of the dataset this app stored. */
  deleteExamples(): Promise<void>
  /** The tasks on offer that train on this dataset, each with its consent terms. */
  tasks(): Promise<EmbedTask[]>
  /** Records the user's consent to a task (show them its terms first). */
  consent(taskId: string): Promise<void>
  /** Withdraws it: no more work for that task from the next check-in. */
  withdraw(taskId: string): Promise<void>
  /** Starts training in a Web Worker while a task is agreed and examples are stored. */
  start(): void
  /** Stops training (a round in progress is abandoned) and waits until it has. */
  stop(): Promise<void>
  readonly running: boolean
  /** Stops, ends the worker and closes the database. */
  close(): Promise<void>
}
