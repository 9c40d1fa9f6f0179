// The one HTTP client of the device side: the simulator's runtime, the phone's contribute loop,
// its outbox (in the service worker too) and "try the model" all speak to the coordinator
// through it. Types only from shared/protocol: zod stays out of the service worker.
import type { ApiErrorBody } from '../../shared/protocol/index.ts'

/** The coordinator refused a request without a protocol answer: its status and error body. */
export class ProtocolError extends Error {
  /** The error body's code, when it had one. */
  readonly code: string | undefined
  /** The response's status text ('' over HTTP/2). */
  readonly statusText: string
  constructor(
    readonly status: number,
    message: string,
    details: { code?: string; statusText?: string } = {},
  ) {
    super(message)
    this.name = 'ProtocolError'
    this.code = details.code
    this.statusText = details.statusText ?? ''
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

export interface DeviceHttpOptions {
  /** The coordinator's base URL, e.g. http://localhost:8080 */
  server: string
  fetch?: typeof globalThis.fetch
  /** The bearer token, read at every request (enrolling sets it). */
  token?: () => string | undefined
  /**
   * Tries per request: network errors and 5xx are tried again with capped exponential backoff
   * (7 tries take about 30 s, long enough for a coordinator restart). 1: no retry.
   */
  attempts?: number
  /** Sleeps between tries; injected so a simulation can stretch or shrink time. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Aborts every request (the device is shutting down). */
  signal?: AbortSignal
}

export interface DeviceHttp {
  /** The raw response, authorised; thrown only for a network error on the last try. */
  request(path: string, init?: RequestInit): Promise<Response>
  /**
   * The JSON body: an answer of the protocol (it has a `type`) whatever its status; any other
   * refusal throws a `ProtocolError` with the error body's message and code.
   */
  json<T>(path: string, init?: RequestInit): Promise<T>
  /** Posts `body` as JSON; answers as `json` does. */
  post<T>(path: string, body: unknown): Promise<T>
  /** The response's bytes; a refusal throws a `ProtocolError` named after `what`. */
  bytes(path: string, what?: string): Promise<Uint8Array>
}

/** An API error body's code and message, or the status text when the body is not one. */
export async function readError(response: Response): Promise<{ code?: string; message: string }> {
  try {
    const { error } = (await response.json()) as Partial<ApiErrorBody>
    return {
      message: error?.message ?? response.statusText,
      ...(error?.code ? { code: error.code } : {}),
    }
  } catch {
    return { message: response.statusText }
  }
}

export function createDeviceHttp(options: DeviceHttpOptions): DeviceHttp {
  const { server, attempts = 1 } = options
  const http = options.fetch ?? globalThis.fetch.bind(globalThis)
  const pause = options.sleep ?? sleep

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const token = options.token?.()
    const signals = [init.signal, options.signal].filter((s): s is AbortSignal => !!s)
    const sent: RequestInit = {
      ...init,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...init.headers },
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await http(new URL(path, server).toString(), sent)
        if (response.status < 500 || attempt >= attempts) return response
      } catch (error) {
        if (options.signal?.aborted || attempt >= attempts) throw error
      }
      await pause(Math.min(8000, 250 * 2 ** attempt) * (0.75 + 0.5 * Math.random()), options.signal)
    }
  }

  async function json<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await request(path, init)
    if (response.ok) return (await response.json()) as T
    const body = (await response
      .clone()
      .json()
      .catch(() => null)) as { type?: unknown } | null
    if (typeof body?.type === 'string') return body as T
    const { message, code } = await readError(response)
    throw new ProtocolError(response.status, message, {
      ...(code ? { code } : {}),
      statusText: response.statusText,
    })
  }

  return {
    request,
    json,
    post: (path, body) =>
      json(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    async bytes(path, what = path) {
      const response = await request(path, { method: 'GET' })
      if (!response.ok) {
        throw new ProtocolError(response.status, `${what}: ${response.statusText}`, {
          statusText: response.statusText,
        })
      }
      return new Uint8Array(await response.arrayBuffer())
    },
  }
}
