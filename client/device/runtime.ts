import { classesSeen, labelHistogram, type Examples } from '../../shared/data/index.ts'
import {
  PROTOCOL_VERSION,
  type Assignment,
  type Backend,
  type Capabilities,
  type CheckinAnswer,
  type DeviceTaskView,
  type EnrolAnswer,
  type UploadAnswer,
} from '../../shared/protocol/index.ts'
import type { CodecPick } from './codec.ts'
import { createDeviceHttp, sleep } from './http.ts'
import { type ChooseEncoding, type ModelDownload, modelSource, type ModelStore } from './models.ts'
import { type Delivery, type RoundEvent, runRound } from './pipeline.ts'
import { memoryResiduals, type ResidualStore } from './residuals.ts'
import { startSecureSession, type SecureSession } from './secure.ts'
import type { Trainer } from './trainer.ts'

export { ProtocolError, sleep } from './http.ts'
export type { ModelStore } from './models.ts'
export { encodeUpdate, partialWorkStop, privatized, updateMetadata } from './update.ts'

export interface DeviceOptions {
  /** The coordinator's base URL, e.g. http://localhost:8080 */
  server: string
  trainer: Trainer
  examples: Examples
  dataset?: string
  /**
   * Classes of the dataset: the length of the label histogram declared at check-in. Default:
   * as many as the stored labels need.
   */
  classes?: number
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
  /** Which encoding to ask models in (models.ts): by default a delta where the task serves one. */
  modelEncoding?: ChooseEncoding
  /** Told of each model downloaded: its bytes and encoding (a phone's History shows them). */
  onDownload?: (download: ModelDownload) => void
  /** The codec each plain update is uploaded in, within what its assignment accepts (float32). */
  codec?: CodecPick
  /** Top-k's residuals between rounds (default: in memory, for as long as the device runs). */
  residuals?: ResidualStore
}

export type DeviceEvent =
  | { type: 'enrolled'; deviceId: string }
  | RoundEvent
  | { type: 'retry'; seconds: number; reason: string }
  | { type: 'done'; reason: string }

/**
 * The device side of the protocol, shared by the simulator and the browser: enrol, check in,
 * and run each assignment through the round pipeline (model by hash, train, privatize, upload),
 * until no task is left.
 */
export function createDevice(options: DeviceOptions) {
  const { trainer, examples, backend } = options
  const dataset = options.dataset ?? 'mnist'
  const pause = options.sleep ?? sleep
  const emit = options.onEvent ?? (() => {})
  let token: string | undefined = options.enrolment?.token
  let deviceId: string | undefined = options.enrolment?.deviceId
  const http = createDeviceHttp({
    server: options.server,
    token: () => token,
    attempts: 7,
    sleep: pause,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  const residuals = options.residuals ?? memoryResiduals()
  const model = modelSource({
    http,
    ...(options.models ? { store: options.models } : {}),
    ...(options.modelEncoding ? { choose: options.modelEncoding } : {}),
    ...(options.onDownload ? { onDownload: options.onDownload } : {}),
  })

  async function enrol() {
    const answer = await http.post<EnrolAnswer>('/api/v1/devices', {
      protocolVersion: PROTOCOL_VERSION,
      ...(options.label ? { label: options.label } : {}),
    })
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
    return http.post<CheckinAnswer>('/api/v1/devices/checkin', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {
        backend,
        ...(speed ? { examplesPerSecond: speed } : {}),
        ...options.state?.(),
      },
      datasets: [
        {
          name: dataset,
          examples: examples.count,
          labels: labelHistogram(examples, options.classes ?? classesSeen(examples)),
        },
      ],
      ...(consents ? { consents } : {}),
    })
  }

  /** The tasks this device could join, described for its owner's consent. */
  async function tasks(): Promise<DeviceTaskView[]> {
    return (await http.json<{ tasks: DeviceTaskView[] }>('/api/v1/devices/tasks')).tasks
  }

  function upload(assignment: Assignment, body: Uint8Array): Promise<UploadAnswer> {
    return http.json<UploadAnswer>(assignment.uploadUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: body as Uint8Array<ArrayBuffer>,
    })
  }

  /** Uploads at once: the simulator's way (a phone goes through its outbox). */
  const direct: Delivery = {
    async deliver({ assignment, body }) {
      return { type: 'sent', answer: await upload(assignment, body), bytes: body.length }
    },
  }

  /** A secure round's session: keys and shares go while the device trains. */
  function secureSession(assignment: Assignment): SecureSession {
    if (!deviceId) throw new Error('a device must enrol before it joins a secure round')
    return startSecureSession({
      assignment,
      deviceId,
      request: (path, init) => http.request(path, init),
      pause,
      ...(options.signal ? { signal: options.signal } : {}),
    })
  }

  /** One assignment through the round pipeline: its answer, or undefined when none came. */
  async function work(assignment: Assignment): Promise<UploadAnswer | undefined> {
    const result = await runRound(assignment, {
      trainer,
      examples,
      model,
      delivery: direct,
      secure: secureSession,
      onEvent: emit,
      ...(options.codec ? { codec: options.codec } : {}),
      residuals,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.beforeUpload ? { beforeDeliver: options.beforeUpload } : {}),
    })
    if (result.type === 'secure') return result.ended.answer ?? undefined
    if (result.type === 'delivered' && result.delivered.type === 'sent')
      return result.delivered.answer
    return undefined
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
