// The embeddable client's training loop: while the user agreed to a task and the app stored
// examples, check in naming the agreed tasks and the examples held now, and run each assignment
// through the device pipeline (client/device: model by hash, train in the worker, privatize,
// upload): the same pipeline and the same training worker as the phone app.
import type { DatasetSpec } from '../../shared/protocol/index.ts'
import { exampleShape } from '../../shared/protocol/index.ts'
import { ProtocolError, sleep } from '../device/http.ts'
import { createDevice, type DeviceEvent } from '../device/runtime.ts'
import type { Trainer } from '../device/trainer.ts'
import type { Backend } from '../../shared/protocol/index.ts'
import { loadConsents, loadExamples, type EmbedDatabase, type Enrolment } from './store.ts'

/** What the loop tells the app, beside the device runtime's own events. */
export type EmbedEvent =
  | DeviceEvent
  | { type: 'started'; backend: Backend }
  | { type: 'idle'; reason: string }
  | { type: 'progress'; step: number; totalSteps: number; loss: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' }

export interface LoopOptions {
  /** The coordinator's base URL. */
  coordinator: string
  spec: DatasetSpec
  db: EmbedDatabase
  /** The stored enrolment, or a new one (enrolling again after a token the coordinator refused). */
  enrolment: () => Promise<Enrolment>
  /** Forgets the enrolment whose token the coordinator refused. */
  forget: () => Promise<void>
  /** The worker's trainer and backend, started on first need. */
  trainer: () => Promise<{ trainer: Trainer; backend: Backend }>
  emit: (event: EmbedEvent) => void
  /** How long to wait before looking again when there is nothing to do. */
  idleMs: number
  signal: AbortSignal
  label?: string
  fetch?: typeof globalThis.fetch
}

/** Why nothing trains now, or null when it may. */
async function idleWhy(options: LoopOptions) {
  const { db, coordinator, spec } = options
  const examples = await loadExamples(
    db,
    spec.name,
    exampleShape(spec.features),
    spec.features.kind,
  )
  if (examples.count === 0) return { why: `No examples of “${spec.name}” are stored yet.` }
  if ((await loadConsents(db, coordinator)).length === 0)
    return { why: 'No task is agreed to: consent to one first.' }
  return { examples }
}

/** Runs until `signal` aborts; every error but the abort is told and tried again later. */
export async function contributeLoop(options: LoopOptions): Promise<void> {
  const { coordinator, db, spec, emit, signal, idleMs } = options
  try {
    for (;;) {
      signal.throwIfAborted()
      const ready = await idleWhy(options)
      if (!ready.examples) {
        emit({ type: 'idle', reason: ready.why })
        await sleep(idleMs, signal)
        continue
      }
      // How long to wait before the next check-in: none after a round (more work may wait).
      let pause = idleMs
      try {
        const { trainer, backend } = await options.trainer()
        // A device per check-in, so that each round trains on the examples stored by then.
        const device = createDevice({
          server: coordinator,
          trainer,
          examples: ready.examples,
          dataset: spec.name,
          // The histogram declared at check-in: one count per class.
          classes: spec.classes.length,
          backend,
          // The agreed tasks as stored now: a withdrawal takes effect at the next check-in.
          consents: () => loadConsents(db, coordinator),
          enrolment: await options.enrolment(),
          onEvent: emit,
          signal,
          ...(options.label ? { label: options.label } : {}),
          ...(options.fetch ? { fetch: options.fetch } : {}),
        })
        const answer = await device.checkin()
        if (answer.type === 'none') emit({ type: 'done', reason: answer.reason })
        else if (answer.type === 'retry') {
          emit({ type: 'retry', seconds: answer.retryAfterSeconds, reason: answer.reason })
          pause = answer.retryAfterSeconds * 1000
        } else {
          await device.work(answer)
          pause = 0
        }
      } catch (error) {
        if (signal.aborted) throw error
        // The coordinator forgot this device (its store was reset): enrol afresh next time.
        if (error instanceof ProtocolError && error.status === 401) await options.forget()
        emit({ type: 'error', message: error instanceof Error ? error.message : String(error) })
      }
      await sleep(pause, signal)
    }
  } catch (error) {
    if (!signal.aborted) throw error
    emit({ type: 'stopped' })
  }
}
