// The embeddable client: an ES module the coordinator serves at /embed/pollen.js, for a web app
// on any origin to contribute the data it already keeps on the user's device. README.md,
// "Embed Pollen in your web app", documents it; examples/plant-journal uses it.
//
//   import { connect } from 'https://coordinator.example/embed/pollen.js'
//   const pollen = await connect({ dataset: 'plants' })
//   await pollen.addExamples([{ features: { moisture: 31, light: 2.5 }, label: 'thirsty' }])
//   const [task] = await pollen.tasks()   // with its consent terms, to show the user
//   await pollen.consent(task.id)          // after the user agreed
//   pollen.start()                         // trains in a Web Worker; pollen.stop() to stop
import {
  DatasetSpecSchema,
  exampleShape,
  type Backend,
  type DatasetSpec,
  type DeviceTaskView,
} from '../../shared/protocol/index.ts'
import { ProtocolError } from '../device/http.ts'
import { createWorkerTrainer, type WorkerTrainer } from '../app/training/index.ts'
import { contributeLoop, type EmbedEvent } from './contribute.ts'
import { EmbedError, encodeExamples, MAX_STORED, type ExampleInput } from './examples.ts'
import { deviceSession } from './session.ts'
import {
  addBatch,
  classCounts,
  deleteDataset,
  loadConsents,
  openEmbedDb,
  setConsent,
} from './store.ts'
import { describeTask, type EmbedTask } from './terms.ts'
import { startTrainingWorker } from './worker.ts'

export { EmbedError, MAX_BATCH, MAX_STORED } from './examples.ts'
export { EMBED_DB } from './store.ts'
export type { EmbedEvent } from './contribute.ts'
export type { ExampleInput, ImageDataLike } from './examples.ts'
export type { EmbedTask, TaskTerms } from './terms.ts'
export type { DatasetSpec } from '../../shared/protocol/index.ts'

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

/** The coordinator that served this module: /embed/pollen.js → its root. */
const servedBy = () => new URL(/* @vite-ignore */ '../', import.meta.url).href

/** Connects to the coordinator, enrols this browser once (kept in IndexedDB), reads the dataset. */
export async function connect(options: ConnectOptions): Promise<Pollen> {
  if (typeof options?.dataset !== 'string' || options.dataset === '')
    throw new EmbedError('invalid_request', 'name the dataset to contribute to', 'dataset')
  const coordinator = new URL(options.coordinator ?? servedBy()).href
  const emit = options.onEvent ?? (() => {})
  const db = await openEmbedDb(options.databaseName)
  const session = await deviceSession({
    coordinator,
    db,
    label: options.label,
    fetch: options.fetch,
  })
  const spec = await session
    .call((h) => h.json<unknown>(`/api/v1/devices/datasets/${encodeURIComponent(options.dataset)}`))
    .catch((error: unknown) => {
      if (error instanceof ProtocolError && error.status === 404)
        throw new EmbedError(
          'not_found',
          `${coordinator} declares no dataset "${options.dataset}"`,
          'dataset',
        )
      throw error
    })
  const dataset = readSpec(spec)
  const shape = exampleShape(dataset.features)

  async function counts(): Promise<Counts> {
    const perClass = await classCounts(db, dataset.name, shape, dataset.classes.length)
    return {
      examples: perClass.reduce((a, b) => a + b, 0),
      byClass: Object.fromEntries(dataset.classes.map((name, k) => [name, perClass[k] ?? 0])),
    }
  }

  let trainer: Promise<{ trainer: WorkerTrainer; backend: Backend }> | null = null
  const startTrainer = () => {
    trainer ??= (async () => {
      const made = createWorkerTrainer({
        startWorker: () => startTrainingWorker(),
        onProgress: ({ step, totalSteps, loss }) =>
          emit({ type: 'progress', step, totalSteps, loss }),
      })
      const { backend } = await made.init()
      emit({ type: 'started', backend })
      return { trainer: made, backend }
    })()
    trainer.catch(() => (trainer = null))
    return trainer
  }
  let loop: { controller: AbortController; done: Promise<void> } | null = null

  const pollen: Pollen = {
    coordinator,
    dataset,
    async addExamples(examples) {
      const batch = encodeExamples(dataset, examples)
      const held = (await counts()).examples
      if (held + batch.count > MAX_STORED)
        throw new EmbedError(
          'invalid_request',
          `${held} examples of "${dataset.name}" are stored and ${batch.count} more would pass ` +
            `the ${MAX_STORED} a dataset may hold here: delete some first`,
          'examples',
        )
      await addBatch(db, dataset.name, batch)
      return counts()
    },
    counts,
    async deleteExamples() {
      await deleteDataset(db, dataset.name)
    },
    async tasks() {
      const [views, agreed] = await Promise.all([
        session.call((h) => h.json<{ tasks: DeviceTaskView[] }>('/api/v1/devices/tasks')),
        loadConsents(db, coordinator),
      ])
      return views.tasks
        .filter((t) => t.dataset === dataset.name)
        .map((t) => describeTask(t, agreed.includes(t.id)))
    },
    async consent(taskId) {
      const offered = (await pollen.tasks()).find((t) => t.id === taskId)
      if (!offered)
        throw new EmbedError(
          'not_found',
          `no task ${taskId} on "${dataset.name}" is on offer`,
          'taskId',
        )
      if (!offered.joinable)
        throw new EmbedError(
          'invalid_request',
          `task ${taskId} cannot be joined: ${offered.terms.why}`,
          'taskId',
        )
      await setConsent(db, coordinator, taskId, true)
    },
    async withdraw(taskId) {
      await setConsent(db, coordinator, taskId, false)
      // The round in progress is for a task the user may just have left: start over.
      if (loop) {
        await pollen.stop()
        pollen.start()
      }
    },
    start() {
      if (loop) return
      const controller = new AbortController()
      const done = contributeLoop({
        coordinator,
        spec: dataset,
        db,
        enrolment: () => session.enrol(),
        forget: () => session.forget(),
        trainer: startTrainer,
        emit,
        idleMs: (options.idleSeconds ?? 30) * 1000,
        signal: controller.signal,
        ...(options.label ? { label: options.label } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }).catch((error: unknown) =>
        emit({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
      )
      loop = { controller, done }
    },
    async stop() {
      const running = loop
      loop = null
      if (!running) return
      running.controller.abort(new DOMException('stopped', 'AbortError'))
      await running.done
    },
    get running() {
      return loop !== null
    },
    async close() {
      await pollen.stop()
      if (trainer) (await trainer.catch(() => null))?.trainer.terminate()
      db.close()
    },
  }
  return pollen
}

/** The spec as the coordinator answered it, checked (only the fields a spec has). */
function readSpec(body: unknown): DatasetSpec {
  const b = (body ?? {}) as Record<string, unknown>
  const parsed = DatasetSpecSchema.safeParse({
    name: b.name,
    description: b.description,
    tags: b.tags,
    features: b.features,
    classes: b.classes,
    deviceLabelling: b.deviceLabelling,
  })
  if (!parsed.success)
    throw new EmbedError(
      'unavailable',
      `the coordinator's dataset spec does not parse: ${parsed.error.message}`,
      'dataset',
    )
  return parsed.data
}
