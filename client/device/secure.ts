import type {
  ApiErrorBody,
  Assignment,
  UploadAnswer,
  UpdateMetadata,
} from '../../shared/protocol/index.ts'
import { API_ERROR } from '../../shared/protocol/error-codes.ts'
import {
  createSecAggClient,
  encodeMaskedUpdate,
  maskedBits,
  type CollectView,
  type RingInput,
  type SecAggConfig,
  type SecAggClient,
  type SecAggView,
} from '../../shared/secagg/index.ts'
import { flattenTensors, type NamedTensor } from '../../shared/tensors/index.ts'

/** How a secure round ended for this device. */
export interface SecureOutcome {
  /** The coordinator's answer to the masked upload (null: it never went). */
  answer: UploadAnswer | null
  /** done: the sum was unmasked; abandoned: the round ended without one; dropped: left behind. */
  outcome: 'done' | 'abandoned' | 'dropped'
  reason?: string
  /** Bytes this device sent for the round: keys, shares, the masked update, its reveal. */
  bytes: number
  /**
   * A b-bit round: what this device's masked words stood for (its level indices, how many
   * entries were clamped) and the round's agreed config, with which ring.ts dequantizes them.
   */
  ring?: RingInput & { config: SecAggConfig }
}

export interface SecureSessionOptions {
  assignment: Assignment
  deviceId: string
  /** The device's authenticated request (retries, bearer token). */
  request: (path: string, init: RequestInit) => Promise<Response>
  pause: (ms: number, signal?: AbortSignal) => Promise<void>
  signal?: AbortSignal
  /** Stochastic rounding's coin in b-bit rounds (default Math.random). */
  random?: () => number
}

/** A device's secure-aggregation session for one round (SecAgg+ in shared/secagg). */
export interface SecureSession {
  /** Aborts when the round goes on without this device (left behind, or abandoned) early. */
  readonly signal: AbortSignal
  /** Masks and uploads the (clipped, noised) delta, then reveals what unmasking needs. */
  submit(delta: NamedTensor[], metadata: UpdateMetadata): Promise<SecureOutcome>
  /** This device leaves the round (its keys stay unrevealed; the others unmask without it). */
  stop(): void
}

class Ended extends Error {
  constructor(
    readonly outcome: 'abandoned' | 'dropped',
    reason: string,
  ) {
    super(reason)
  }
}

/**
 * Starts at assignment, so that keys and shares go while the device trains: advertises its keys,
 * sends its shares when the round's participants are fixed, and waits in the collect stage for
 * the trained delta. The coordinator's views say what to do next; a 409 means this device was
 * left behind (too slow for a stage).
 */
export function startSecureSession(options: SecureSessionOptions): SecureSession {
  const { assignment, request, pause } = options
  const base = assignment.secureAggregation!.url
  const stopper = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal
  let bytes = 0
  let advertised = false

  async function call<T>(path: string, init: RequestInit): Promise<T> {
    const response = await request(path, { ...init, signal })
    const body = (await response.json()) as T & Partial<ApiErrorBody>
    if (response.ok) return body
    // A retried post the coordinator already had (the answer to the first was lost).
    if (response.status === 409 && body.error?.code === API_ERROR.duplicate) return body
    const message = body.error?.message ?? response.statusText
    // The round moved on without this device, or never knew it: it is out of this round.
    if (response.status === 409 || response.status === 404) throw new Ended('dropped', message)
    throw new Error(`secure aggregation: ${response.status} ${message}`)
  }
  const post = (stage: string, message: unknown) => {
    const body = JSON.stringify(message)
    bytes += body.length
    return call<unknown>(`${base}/${stage}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    })
  }
  const view = () => call<SecAggView>(base, { method: 'GET' })

  /** Polls the coordinator until a view that asks for one of `stages` (or ends the round). */
  async function until<S extends SecAggView['stage']>(
    stages: readonly S[],
  ): Promise<Extract<SecAggView, { stage: S; waiting: false }>> {
    for (;;) {
      const v = await view()
      if (v.stage === 'abandoned') throw new Ended('abandoned', v.reason)
      // Asked for keys it already gave: the coordinator does not hold them (it restarted).
      if (v.stage === 'advertise' && !v.waiting && advertised)
        throw new Ended('dropped', 'the coordinator no longer holds this device’s keys')
      if (!v.waiting && (stages as readonly string[]).includes(v.stage))
        return v as Extract<SecAggView, { stage: S; waiting: false }>
      if (v.stage === 'done') throw new Ended('abandoned', 'the round finished without this device')
      await pause(v.waiting || v.stage === 'advertise' ? v.retryAfterSeconds * 1000 : 1000, signal)
    }
  }

  // Keys now, shares as soon as the graph is fixed; then wait in collect for the delta.
  const ready: Promise<{ client: SecAggClient; collect: CollectView }> = (async () => {
    const client = await createSecAggClient(
      options.deviceId,
      options.random ? { random: options.random } : {},
    )
    await post('keys', client.keys())
    advertised = true
    const next = await until(['share', 'collect'])
    if (next.stage === 'collect') return { client, collect: next }
    await post('shares', await client.share(next))
    return { client, collect: await until(['collect']) }
  })()
  // Training need not go on for a round that went on without this device.
  const ended = new AbortController()
  ready.catch((error: unknown) => {
    if (error instanceof Ended) ended.abort(error)
  })

  return {
    signal: ended.signal,
    async submit(delta, metadata) {
      let answer: UploadAnswer | null = null
      let ring: SecureOutcome['ring']
      // Every way out says how this device's words were quantized, where they were.
      const ended = (o: Omit<SecureOutcome, 'bytes' | 'ring'>): SecureOutcome => ({
        ...o,
        bytes,
        ...(ring ? { ring } : {}),
      })
      try {
        const { client, collect } = await ready
        const masked = await client.mask(collect, flattenTensors(delta))
        if (client.input) ring = { ...client.input, config: collect.config }
        const { examples, steps, baseModel, partial } = metadata
        const body = encodeMaskedUpdate({
          metadata: { examples, steps, baseModel, ...(partial ? { partial } : {}) },
          masked,
          // A b-bit round's words travel in the ring's bits, not 32.
          bits: maskedBits(collect.config),
        })
        bytes += body.length
        const response = await request(assignment.uploadUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body: body as Uint8Array<ArrayBuffer>,
          signal,
        })
        answer = (await response.json()) as UploadAnswer
        // 'duplicate': a retried upload the coordinator already had; the unmask view says more.
        if (answer.type !== 'accepted' && answer.type !== 'duplicate')
          return ended({ answer, outcome: 'dropped' })
        // The others' reveals may have unmasked the sum (this update in it) before this device
        // looks: done, not a round that finished without it.
        const unmask = await until(['unmask', 'done'])
        if (unmask.stage === 'done') return ended({ answer, outcome: 'done' })
        // Refused once the server holds enough reveals and is unmasking: not needed, not dropped.
        await post('reveal', client.reveal(unmask)).catch((error: unknown) => {
          if (!(error instanceof Ended)) throw error
        })
        // The sum is unmasked once enough reveals are in; wait to hear how the round ended.
        for (;;) {
          const v = await view()
          if (v.stage === 'done') return ended({ answer, outcome: 'done' })
          if (v.stage === 'abandoned')
            return ended({ answer, outcome: 'abandoned', reason: v.reason })
          await pause(v.waiting ? v.retryAfterSeconds * 1000 : 1000, signal)
        }
      } catch (error) {
        if (!(error instanceof Ended)) throw error
        return ended({ answer, outcome: error.outcome, reason: error.message })
      }
    },
    stop() {
      stopper.abort(new Error('this device left the secure round'))
    },
  }
}
