// The admin event stream (GET /api/v1/events) read with fetch rather than EventSource: fetch
// sends the token in a header (not in a URL that lands in logs), sees the HTTP status (a 401
// means the token is wrong, not that the network dropped), and lets us choose the backoff.

/** One server-sent event: its `event:` name, `data:` text and `id:` (null without one). */
export interface SseMessage {
  event: string
  data: string
  id: string | null
}

/**
 * An incremental text/event-stream parser (the WHATWG rules that matter here): feed it text as
 * it arrives, in chunks cut anywhere; it calls `onMessage` for each complete event.
 */
export function createSseParser(onMessage: (message: SseMessage) => void) {
  let buffer = ''
  let event = ''
  let data: string[] = []
  // Each message carries its own id or none (the connection keeps the last one it saw).
  let id: string | null = null
  const dispatch = () => {
    if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n'), id })
    event = ''
    data = []
    id = null
  }
  const line = (text: string) => {
    if (text === '') return dispatch()
    if (text.startsWith(':')) return
    const colon = text.indexOf(':')
    const field = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? '' : text.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
    else if (field === 'id' && !value.includes('\0')) id = value
  }
  return {
    feed(chunk: string) {
      buffer += chunk
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/)
        // A lone \r at the end may be half of \r\n: wait for the next chunk.
        if (end === -1 || (buffer[end] === '\r' && end === buffer.length - 1)) return
        const next = buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1
        line(buffer.slice(0, end))
        buffer = buffer.slice(next)
      }
    },
  }
}

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to `maxMs`, each times [0.5, 1). */
export function backoffDelay(
  attempt: number,
  { baseMs = 500, maxMs = 15_000, random = Math.random } = {},
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.round(ceiling * (0.5 + random() / 2))
}

export type StreamStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'live' }
  | { state: 'waiting'; retryInMs: number; reason: string }
  | { state: 'unauthorized' }
  | { state: 'stopped' }

export interface EventStreamOptions {
  url: string
  token: string
  onMessage: (message: SseMessage) => void
  onStatus: (status: StreamStatus) => void
  fetch?: typeof fetch
  backoff?: (attempt: number) => number
  setTimer?: (run: () => void, ms: number) => unknown
}

/**
 * Keeps one event stream open until `stop()`: after a drop (the coordinator restarted, the
 * network went) it reconnects with backoff, sending the last id it saw. A 401 stops it: a
 * wrong token will not get better by retrying.
 */
export function connectEventStream({
  url,
  token,
  onMessage,
  onStatus,
  fetch: fetchFn = globalThis.fetch.bind(globalThis),
  backoff = backoffDelay,
  setTimer = (run, ms) => setTimeout(run, ms),
}: EventStreamOptions) {
  let stopped = false
  let controller: AbortController | null = null
  let lastId: string | null = null
  let wentLive = false

  async function once(attempt: number): Promise<void> {
    controller = new AbortController()
    wentLive = false
    onStatus({ state: 'connecting', attempt })
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: 'text/event-stream',
    }
    if (lastId !== null) headers['Last-Event-ID'] = lastId
    const response = await fetchFn(url, { headers, signal: controller.signal, cache: 'no-store' })
    if (response.status === 401) {
      stopped = true
      onStatus({ state: 'unauthorized' })
      return
    }
    if (!response.ok || !response.body)
      throw new Error(`the event stream answered ${response.status}`)
    const parser = createSseParser((message) => {
      if (message.id !== null) lastId = message.id
      if (message.event === 'ready') {
        wentLive = true
        onStatus({ state: 'live' })
      }
      onMessage(message)
    })
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) throw new Error('the coordinator closed the event stream')
      parser.feed(value)
    }
  }

  async function run(attempt: number): Promise<void> {
    if (stopped) return
    try {
      await once(attempt)
    } catch (error) {
      if (stopped) return
      // A stream that had gone live starts the backoff afresh.
      const failures = wentLive ? 0 : attempt
      const reason = error instanceof Error ? error.message : String(error)
      const retryInMs = backoff(failures)
      onStatus({ state: 'waiting', retryInMs, reason })
      setTimer(() => void run(failures + 1), retryInMs)
    }
  }

  void run(0)
  return {
    stop() {
      stopped = true
      controller?.abort()
      onStatus({ state: 'stopped' })
    },
  }
}
