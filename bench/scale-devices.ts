// Protocol-only devices for bench:scale: they enrol, check in, download the model and upload a
// right-shaped random delta, and train nothing. Requests go round-robin over the replicas' URLs,
// as a load balancer would send them, on keep-alive connections (node:http costs the load
// generator less CPU per call than fetch, and it shares the 2 cores with what it measures).
import { Agent, request } from 'node:http'
import {
  PROTOCOL_VERSION,
  type CheckinAnswer,
  type CheckinRequest,
  type EnrolAnswer,
  type UploadAnswer,
} from '../shared/protocol/index.ts'
import { encodeContainer, type NamedTensor } from '../shared/tensors/index.ts'

/** The reason of a check-in the coordinator shed (server/api/shed.ts), not a round's refusal. */
const SHED_REASON = 'the coordinator is busy'

export type CallKind = 'enrol' | 'checkin' | 'download' | 'upload'

/** Every call's latency in ms and its outcome (`assignment`, `retry`, `accepted`, `busy`, …). */
export class Recorder {
  readonly latencies = new Map<CallKind, number[]>()
  readonly outcomes = new Map<string, number>()
  record(kind: CallKind, ms: number, outcome: string) {
    const list = this.latencies.get(kind) ?? []
    list.push(ms)
    this.latencies.set(kind, list)
    const key = `${kind}:${outcome}`
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1)
  }
  calls(kind: CallKind): number {
    return this.latencies.get(kind)?.length ?? 0
  }
}

interface Answer {
  status: number
  body: Buffer
}

/**
 * One HTTP exchange on a keep-alive agent; the body is read whole. A kept-alive socket the
 * server closed just as the request went out is reset: that request never reached it, so it is
 * sent again on a fresh socket (Node's documented pattern, `reusedSocket`).
 */
function exchange(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Uint8Array | string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (req.reusedSocket && error.code === 'ECONNRESET')
        exchange(agent, url, method, headers, body).then(resolve, reject)
      else reject(error)
    })
    req.end(body)
  })
}

/** Idle sockets close before the server's keep-alive timeout (Node's 5 s) can close them. */
const IDLE_SOCKET_MS = 4000

export interface DeviceClientOptions {
  /** The replicas' base URLs (`http://127.0.0.1:PORT`); calls go round-robin over them. */
  urls: readonly string[]
  recorder: Recorder
  /** Sockets per replica: the bench's concurrency bounds what is in flight anyway. */
  maxSockets?: number
}

/** What a check-in declares: the claim bound of an upload (examples ≤ 120) comes from it. */
export const CHECKIN: CheckinRequest = {
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { backend: 'wasm' },
  datasets: [{ name: 'mnist', examples: 120, labels: [12, 12, 12, 12, 12, 12, 12, 12, 12, 12] }],
}

export function deviceClient({ urls, recorder, maxSockets = 256 }: DeviceClientOptions) {
  if (urls.length === 0) throw new Error('no replica to send requests to')
  const agent = new Agent({ keepAlive: true, maxSockets, timeout: IDLE_SOCKET_MS })
  let turn = 0
  const next = () => urls[turn++ % urls.length]!

  /** A call, timed; the outcome names the answer, or `http-<status>` for an error body. */
  async function timed<T>(
    kind: CallKind,
    go: () => Promise<Answer>,
    outcome: (answer: Answer) => { name: string; value: T },
  ): Promise<T> {
    const started = performance.now()
    const answer = await go()
    const ms = performance.now() - started
    const { name, value } = outcome(answer)
    recorder.record(kind, ms, name)
    return value
  }

  const json = (a: Answer) => JSON.parse(a.body.toString('utf8')) as { type?: string }
  /** An error answer: 503 is the coordinator shedding load, anything else is a bench failure. */
  const failure = (kind: CallKind, a: Answer): { name: string; value: null } => {
    if (a.status === 503) return { name: 'busy', value: null }
    throw new Error(`${kind} answered ${a.status}: ${a.body.toString('utf8').slice(0, 300)}`)
  }

  return {
    /** Enrols a device; null when the coordinator was too busy to take it. */
    enrol: () =>
      timed(
        'enrol',
        () =>
          exchange(
            agent,
            `${next()}/api/v1/devices`,
            'POST',
            { 'content-type': 'application/json' },
            JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
          ),
        (a) =>
          a.status === 200 || a.status === 201
            ? { name: 'enrolled', value: (json(a) as EnrolAnswer).token }
            : failure('enrol', a),
      ),
    /** A check-in; its answer (`assignment`, `retry`, `none`), or null when shed with 503. */
    checkin: (token: string) =>
      timed(
        'checkin',
        () =>
          exchange(
            agent,
            `${next()}/api/v1/devices/checkin`,
            'POST',
            { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            JSON.stringify(CHECKIN),
          ),
        (a) => {
          if (a.status !== 200) return failure('checkin', a)
          const answer = json(a) as CheckinAnswer
          // A shed check-in is a `retry` too (api/shed.ts), told apart only by its reason.
          if (answer.type === 'retry' && answer.reason === SHED_REASON)
            return { name: 'busy', value: null }
          return { name: answer.type, value: answer }
        },
      ),
    /** Downloads the round's model; its bytes, or null when shed. */
    download: (token: string, hash: string) =>
      timed(
        'download',
        () =>
          exchange(agent, `${next()}/api/v1/models/${hash}`, 'GET', {
            authorization: `Bearer ${token}`,
          }),
        (a) => (a.status === 200 ? { name: 'model', value: a.body } : failure('download', a)),
      ),
    /** Uploads an encoded update; the answer, or null when shed. */
    upload: (token: string, uploadUrl: string, body: Uint8Array) =>
      timed(
        'upload',
        () =>
          exchange(
            agent,
            `${next()}${uploadUrl}`,
            'POST',
            { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
            body,
          ),
        (a) => {
          if (a.status !== 200) return failure('upload', a)
          const answer = json(a) as UploadAnswer
          return { name: answer.type, value: answer }
        },
      ),
    close: () => agent.destroy(),
  }
}

export type DeviceClient = ReturnType<typeof deviceClient>

/** An upload's body: the deltas and what an honest device claims for them. */
export function uploadBody(deltas: NamedTensor[], baseModel: string, examples: number) {
  return encodeContainer({ tensors: deltas, metadata: { examples, steps: 4, baseModel } })
}

/** Runs `work` on every item with at most `limit` in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
) {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      await work(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
