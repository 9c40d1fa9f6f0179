import { describe, expect, it } from 'vitest'
import {
  backoffDelay,
  connectEventStream,
  createSseParser,
  type SseMessage,
  type StreamStatus,
} from './sse.ts'

const parse = (...chunks: string[]) => {
  const messages: SseMessage[] = []
  const parser = createSseParser((m) => messages.push(m))
  for (const chunk of chunks) parser.feed(chunk)
  return messages
}

describe('createSseParser', () => {
  it('reads events, data, ids and skips comments', () => {
    expect(
      parse(
        ': keep-alive\n\n',
        'event: round.opened\ndata: {"a":1}\nid: 7\n\n',
        'event: ready\ndata: {"tasks":[]}\n\n',
      ),
    ).toEqual([
      { event: 'round.opened', data: '{"a":1}', id: '7' },
      { event: 'ready', data: '{"tasks":[]}', id: null },
    ])
  })

  it('joins events cut anywhere, across \\r\\n split between chunks', () => {
    const text =
      'event: task.created\r\ndata: {"x":"a:b"}\r\nid: 12\r\n\r\ndata: two\ndata: lines\n\n'
    for (let cut = 1; cut < text.length; cut++)
      expect(parse(text.slice(0, cut), text.slice(cut)), `cut at ${cut}`).toEqual([
        { event: 'task.created', data: '{"x":"a:b"}', id: '12' },
        { event: 'message', data: 'two\nlines', id: null },
      ])
  })

  it('waits for the blank line before dispatching', () => {
    expect(parse('event: ready\ndata: {}\n')).toEqual([])
  })
})

describe('backoffDelay', () => {
  it('doubles from half a second to the ceiling, with jitter in [0.5, 1)', () => {
    const top = (attempt: number) => backoffDelay(attempt, { random: () => 0.999999 })
    const bottom = (attempt: number) => backoffDelay(attempt, { random: () => 0 })
    expect([0, 1, 2, 3].map(top)).toEqual([500, 1000, 2000, 4000])
    expect(top(20)).toBe(15_000)
    expect(bottom(0)).toBe(250)
    expect(bottom(20)).toBe(7_500)
  })
})

describe('connectEventStream', () => {
  /** A response whose body is the given SSE text, then closes (a dropped connection). */
  const stream = (text: string) =>
    new Response(new Blob([text]).stream(), { headers: { 'Content-Type': 'text/event-stream' } })

  it('reconnects after a drop with the last id, and stops on 401', async () => {
    const requests: (string | null)[] = []
    const answers = [
      () => stream('event: ready\ndata: {"tasks":[]}\n\nevent: task.deleted\ndata: {}\nid: 4\n\n'),
      () => {
        throw new TypeError('connection refused')
      },
      () => new Response('no', { status: 401 }),
    ]
    const timers: number[] = []
    const statuses: StreamStatus[] = []
    const messages: SseMessage[] = []
    await new Promise<void>((done) => {
      connectEventStream({
        url: 'http://coordinator/api/v1/events',
        token: 't0ken',
        fetch: (_url, init) => {
          requests.push(new Headers(init?.headers).get('Last-Event-ID'))
          expect(new Headers(init?.headers).get('Authorization')).toBe('Bearer t0ken')
          return Promise.resolve().then(answers[requests.length - 1])
        },
        backoff: (attempt) => attempt,
        setTimer: (run, ms) => {
          timers.push(ms)
          run()
        },
        onMessage: (m) => messages.push(m),
        onStatus: (s) => {
          statuses.push(s)
          if (s.state === 'unauthorized') done()
        },
      })
    })
    expect(requests).toEqual([null, '4', '4'])
    expect(messages.map((m) => m.event)).toEqual(['ready', 'task.deleted'])
    // The first drop came after going live: backoff from 0; the refused one counts up.
    expect(timers).toEqual([0, 1])
    expect(statuses.map((s) => s.state)).toEqual([
      'connecting',
      'live',
      'waiting',
      'connecting',
      'waiting',
      'connecting',
      'unauthorized',
    ])
  })
})
