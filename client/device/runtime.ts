import { labelHistogram, type Examples } from '../../shared/data/index.ts'
import { addGaussianNoise, clipToNorm } from '../../shared/privacy/index.ts'
import {
  PROTOCOL_VERSION,
  type Assignment,
  type Backend,
  type Capabilities,
  type CheckinAnswer,
  type DeviceTaskView,
  type EnrolAnswer,
  type UpdateMetadata,
  type UploadAnswer,
} from '../../shared/protocol/index.ts'
import {
  decodeContainer,
  encodeContainer,
  type NamedTensor,
  sha256Hex,
} from '../../shared/tensors/index.ts'
import { startSecureSession, type SecureSession } from './secure.ts'
import type { Trainer, TrainOutcome } from './trainer.ts'

/** Where a device keeps downloaded models by hash across restarts (a phone: IndexedDB). */
export interface ModelStore {
  get(hash: string): Promise<Uint8Array | undefined>
  put(hash: string, bytes: Uint8Array, taskId: string): Promise<void>
}

export interface DeviceOptions {
  /** The coordinator's base URL, e.g. http://localhost:8080 */
  server: string
  trainer: Trainer
  examples: Examples
  dataset?: string
  backend: Backend
  /** Training speed reported at check-in: a number, or read at each check-in (as measured). */
  examplesPerSecond?: number | (() => number | undefined)
  /**
   * What the device is doing now (charging, network) and its memory, read at each check-in for
   * the tasks' eligibility rules; a rule a device does not answer rules it out.
   */
  state?: () => Pick<Capabilities, 'charging' | 'network' | 'memoryMB'>
  label?: string
  fetch?: typeof fetch
  /** Sleeps; injected so a simulation can stretch or shrink time. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Called between training and upload: a simulated slow or dropped device hooks in here. */
  beforeUpload?: (assignment: Assignment, trainedMs: number) => Promise<'upload' | 'drop'>
  onEvent?: (event: DeviceEvent) => void
  signal?: AbortSignal
  /**
   * The tasks the owner agreed to, read at every check-in (so a withdrawal takes effect at the
   * next one). Leave it out for a simulated device, which has no owner to ask.
   */
  consents?: () => string[] | Promise<string[]>
  /** A stored enrolment to reuse instead of enrolling again (a phone keeps its own). */
  enrolment?: { deviceId: string; token: string }
  /** Keeps downloaded models across restarts; without it, only the current one, in memory. */
  models?: ModelStore
}

export type DeviceEvent =
  | { type: 'enrolled'; deviceId: string }
  | { type: 'assigned'; taskId: string; round: number }
  | {
      type: 'trained'
      taskId: string
      round: number
      examples: number
      steps: number
      loss: number
      ms: number
      /** Stopped before the plan's steps because the deadline was near. */
      partial: boolean
    }
  | { type: 'uploaded'; taskId: string; round: number; answer: UploadAnswer; bytes: number }
  | { type: 'dropped'; taskId: string; round: number }
  /** How a secure round ended for this device (done: its sum was unmasked). */
  | {
      type: 'secure'
      taskId: string
      round: number
      outcome: 'done' | 'abandoned' | 'dropped'
      reason?: string
    }
  | { type: 'retry'; seconds: number; reason: string }
  | { type: 'done'; reason: string }

export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ProtocolError'
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, Math.max(0, ms))
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason as Error)
      },
      { once: true },
    )
  })

/**
 * The device side of the protocol, shared by the simulator and the browser: enrol, check in,
 * download the model (cached by hash), train, upload the delta, and again, until no task is left.
 */
export function createDevice(options: DeviceOptions) {
  const { server, trainer, examples, backend } = options
  const dataset = options.dataset ?? 'mnist'
  const http = options.fetch ?? fetch
  const pause = options.sleep ?? sleep
  const emit = options.onEvent ?? (() => {})
  const modelCache = new Map<string, NamedTensor[]>()
  let token: string | undefined = options.enrolment?.token
  let deviceId: string | undefined = options.enrolment?.deviceId

  const url = (path: string) => new URL(path, server).toString()

  /**
   * Network errors and 5xx are retried with capped exponential backoff (about 30 s in all, long
   * enough for a coordinator restart); protocol answers are not retried.
   */
  async function request(path: string, init: RequestInit, attempts = 7): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        const signals = [init.signal, options.signal].filter((s): s is AbortSignal => !!s)
        const response = await http(url(path), {
          ...init,
          headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...init.headers },
          ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
        })
        if (response.status < 500 || attempt >= attempts) return response
      } catch (error) {
        if (options.signal?.aborted || attempt >= attempts) throw error
      }
      await pause(Math.min(8000, 250 * 2 ** attempt) * (0.75 + 0.5 * Math.random()), options.signal)
    }
  }

  async function json<T>(response: Response): Promise<T> {
    const body = (await response.json()) as T & { error?: { message: string } }
    if (!response.ok && !(body as { type?: string }).type)
      throw new ProtocolError(response.status, body.error?.message ?? response.statusText)
    return body
  }

  async function enrol() {
    const answer = await json<EnrolAnswer>(
      await request('/api/v1/devices', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          protocolVersion: PROTOCOL_VERSION,
          ...(options.label ? { label: options.label } : {}),
        }),
      }),
    )
    token = answer.token
    deviceId = answer.deviceId
    emit({ type: 'enrolled', deviceId })
    return answer
  }

  async function checkin(): Promise<CheckinAnswer> {
    const consents = options.consents ? await options.consents() : undefined
    const speed =
      typeof options.examplesPerSecond === 'function'
        ? options.examplesPerSecond()
        : options.examplesPerSecond
    return json<CheckinAnswer>(
      await request('/api/v1/devices/checkin', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          protocolVersion: PROTOCOL_VERSION,
          capabilities: {
            backend,
            ...(speed ? { examplesPerSecond: speed } : {}),
            ...options.state?.(),
          },
          datasets: [{ name: dataset, examples: examples.count, labels: labelHistogram(examples) }],
          ...(consents ? { consents } : {}),
        }),
      }),
    )
  }

  /** The tasks this device could join, described for its owner's consent. */
  async function tasks(): Promise<DeviceTaskView[]> {
    const response = await request('/api/v1/devices/tasks', { method: 'GET' })
    return (await json<{ tasks: DeviceTaskView[] }>(response)).tasks
  }

  /** The assignment's model: from memory, the model store, or downloaded (and checked). */
  async function model(assignment: Assignment): Promise<NamedTensor[]> {
    const { hash, url: modelUrl } = assignment.model
    const cached = modelCache.get(hash)
    if (cached) return cached
    let bytes = await options.models?.get(hash)
    if (!bytes) {
      const response = await request(modelUrl, { method: 'GET' })
      if (!response.ok)
        throw new ProtocolError(response.status, `model ${hash}: ${response.statusText}`)
      bytes = new Uint8Array(await response.arrayBuffer())
      // Content-addressed: bytes that do not hash to the name are not the model (a bad cache).
      const actual = await sha256Hex(bytes)
      if (actual !== hash) throw new Error(`model ${hash}: the download hashes to ${actual}`)
      await options.models?.put(hash, bytes, assignment.taskId)
    }
    const weights = decodeContainer(bytes).tensors
    modelCache.clear() // only the current model is worth keeping
    modelCache.set(hash, weights)
    return weights
  }

  async function upload(assignment: Assignment, body: Uint8Array): Promise<UploadAnswer> {
    return json<UploadAnswer>(
      await request(assignment.uploadUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: body as Uint8Array<ArrayBuffer>,
      }),
    )
  }

  /** A secure round's session: keys and shares go while the device trains. */
  function secureSession(assignment: Assignment): SecureSession {
    if (!deviceId) throw new Error('a device must enrol before it joins a secure round')
    return startSecureSession({
      assignment,
      deviceId,
      request: (path, init) => request(path, init),
      pause,
      ...(options.signal ? { signal: options.signal } : {}),
    })
  }

  /** One assignment: download, train, upload. */
  async function work(assignment: Assignment): Promise<UploadAnswer | undefined> {
    const { taskId, round } = assignment
    emit({ type: 'assigned', taskId, round })
    const secure = assignment.secureAggregation ? secureSession(assignment) : undefined
    try {
      const weights = await model(assignment)
      const started = Date.now()
      const stopAt = partialWorkStop(assignment)
      const signals = [options.signal, secure?.signal].filter((s): s is AbortSignal => !!s)
      const result = await trainer
        .train({
          spec: assignment.model.spec,
          weights,
          plan: assignment.plan,
          examples,
          ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
          ...(stopAt !== undefined ? { stopAt } : {}),
        })
        .catch((error: unknown) => {
          // The secure round went on without this device: no need to finish training.
          if (secure?.signal.aborted && !options.signal?.aborted) return undefined
          throw error
        })
      if (!result) {
        const reason = (secure!.signal.reason as Error).message
        emit({ type: 'secure', taskId, round, outcome: 'dropped', reason })
        return undefined
      }
      // A trainer shared by many simulated devices says how long this job itself took.
      const ms = result.trainingMs ?? Date.now() - started
      emit({
        type: 'trained',
        taskId,
        round,
        examples: result.examples,
        steps: result.steps,
        loss: result.loss,
        ms,
        partial: result.partial === true,
      })
      if ((await options.beforeUpload?.(assignment, ms)) === 'drop') {
        emit({ type: 'dropped', taskId, round })
        return undefined
      }
      if (secure) {
        const ended = await secure.submit(
          privatized(assignment, result.delta),
          updateMetadata(assignment, result),
        )
        emit({
          type: 'secure',
          taskId,
          round,
          outcome: ended.outcome,
          ...(ended.reason ? { reason: ended.reason } : {}),
        })
        if (ended.answer)
          emit({ type: 'uploaded', taskId, round, answer: ended.answer, bytes: ended.bytes })
        return ended.answer ?? undefined
      }
      const body = encodeUpdate(assignment, result)
      const answer = await upload(assignment, body)
      emit({ type: 'uploaded', taskId, round, answer, bytes: body.length })
      return answer
    } finally {
      // Whatever happened, this device is done with the round's secure session.
      secure?.stop()
    }
  }

  /** Works until the coordinator has nothing this device can join (or the signal aborts). */
  async function run(): Promise<void> {
    if (!token) await enrol()
    for (;;) {
      options.signal?.throwIfAborted()
      const answer = await checkin()
      if (answer.type === 'none') {
        emit({ type: 'done', reason: answer.reason })
        return
      }
      if (answer.type === 'retry') {
        emit({ type: 'retry', seconds: answer.retryAfterSeconds, reason: answer.reason })
        await pause(answer.retryAfterSeconds * 1000, options.signal)
        continue
      }
      await work(answer)
    }
  }

  return {
    enrol,
    checkin,
    tasks,
    model,
    work,
    run,
    upload,
    secureSession,
    get id() {
      return deviceId
    },
    get token() {
      return token
    },
  }
}

export type Device = ReturnType<typeof createDevice>

/**
 * When training for `assignment` stops to upload what it has (ms since the epoch): its deadline
 * less the plan's `partialAtSecondsLeft`. Undefined when the plan asks for no partial work.
 */
export function partialWorkStop(assignment: Assignment): number | undefined {
  const secondsLeft = assignment.plan.partialAtSecondsLeft
  if (secondsLeft === undefined) return undefined
  return Date.parse(assignment.deadline) - secondsLeft * 1000
}

/**
 * The delta as a private task asks for it: clipped to its L2 norm bound, then noised with this
 * device's share of the noise (distributed mode). Unchanged for a task without privacy.
 */
export function privatized(assignment: Assignment, delta: NamedTensor[]): NamedTensor[] {
  const { privacy } = assignment
  if (!privacy) return delta
  const { tensors } = clipToNorm(delta, privacy.clipNorm)
  return privacy.noiseStd > 0 ? addGaussianNoise(tensors, privacy.noiseStd) : tensors
}

/** What the coordinator weighs an update by, as its header carries it. */
export function updateMetadata(assignment: Assignment, result: TrainOutcome): UpdateMetadata {
  return {
    examples: result.examples,
    steps: result.steps,
    baseModel: assignment.model.hash,
    ...(Number.isFinite(result.loss) ? { loss: result.loss } : {}),
    ...(result.partial ? { partial: true } : {}),
  }
}

/** The upload body for a trained assignment: the delta, with what the coordinator weighs it by. */
export function encodeUpdate(assignment: Assignment, result: TrainOutcome): Uint8Array {
  return encodeContainer({
    tensors: privatized(assignment, result.delta),
    metadata: updateMetadata(assignment, result),
  })
}
