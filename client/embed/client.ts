// The `Pollen` that `connect` answers: the app's examples, the tasks with their terms, consent,
// and training started and stopped. index.ts documents each method.
import {
  exampleShape,
  type Backend,
  type DatasetSpec,
  type DeviceTaskView,
} from '../../shared/protocol/index.ts'
import type { WorkerTrainer } from '../app/training/index.ts'
import { contributeLoop } from './contribute.ts'
import { EmbedError, encodeExamples, MAX_STORED } from './examples.ts'
import type { ConnectOptions, Counts, Pollen } from './types.ts'
import type { DeviceSession } from './session.ts'
import {
  addBatch,
  classCounts,
  deleteDataset,
  loadConsents,
  setConsent,
  type EmbedDatabase,
} from './store.ts'
import { describeTask } from './terms.ts'
import { startTrainingWorker } from './worker.ts'

export interface PollenParts {
  coordinator: string
  db: EmbedDatabase
  session: DeviceSession
  dataset: DatasetSpec
  options: ConnectOptions
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The training worker, started once on first need, and the loop that trains in it. */
function training({ coordinator, db, session, dataset, options }: PollenParts) {
  const emit = options.onEvent ?? (() => {})
  let trainer: Promise<{ trainer: WorkerTrainer; backend: Backend }> | null = null
  const startTrainer = () => {
    trainer ??= (async () => {
      // Loaded when training first starts, as the phone app loads it (the build's `training`
      // entry, not a copy in a chunk of its own).
      const { createWorkerTrainer } = await import('../app/training/index.ts')
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
  const control = {
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
      }).catch((error: unknown) => emit({ type: 'error', message: messageOf(error) }))
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
      await control.stop()
      if (trainer) (await trainer.catch(() => null))?.trainer.terminate()
    },
  }
  return control
}

export function createPollen(parts: PollenParts): Pollen {
  const { coordinator, db, session, dataset } = parts
  const shape = exampleShape(dataset.features)
  const train = training(parts)

  async function counts(): Promise<Counts> {
    const perClass = await classCounts(db, dataset.name, shape, dataset.classes.length)
    return {
      examples: perClass.reduce((a, b) => a + b, 0),
      byClass: Object.fromEntries(dataset.classes.map((name, k) => [name, perClass[k] ?? 0])),
    }
  }

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
          `no task ${String(taskId).slice(0, 100)} on "${dataset.name}" is on offer`,
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
      // The round in progress may be for the task just left: start over without it.
      if (train.running) {
        await train.stop()
        train.start()
      }
    },
    start: () => train.start(),
    stop: () => train.stop(),
    get running() {
      return train.running
    },
    async close() {
      await train.close()
      db.close()
    },
  }
  return pollen
}
