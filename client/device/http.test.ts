import { describe, expect, it } from 'vitest'
import { createDeviceHttp, ProtocolError, readError } from './http.ts'

/** A fetch that answers from `answers` in turn, keeping what it was asked. */
function coordinator(...answers: (() => Response | Promise<Response>)[]) {
  const asked: { url: string; init: RequestInit | undefined }[] = []
  const fetch: typeof globalThis.fetch = (input, init) => {
    asked.push({ url: input instanceof Request ? input.url : input.toString(), init })
    const next = answers.shift()
    return next ? Promise.resolve(next()) : Promise.reject(new TypeError('Failed to fetch'))
  }
  return { fetch, asked }
}

const instant = () => Promise.resolve()

describe('the device HTTP client', () => {
  it('sends the bearer token it holds now, to paths on the coordinator', async () => {
    const held: { token?: string } = {}
    const c = coordinator(
      () => Response.json({ ok: 1 }),
      () => Response.json({ ok: 2 }),
    )
    const http = createDeviceHttp({
      server: 'http://c.test',
      fetch: c.fetch,
      token: () => held.token,
    })
    await http.json('/api/v1/devices/tasks')
    held.token = 'secret'
    await http.post('/api/v1/devices/checkin', { a: 1 })
    expect(c.asked.map((a) => a.url)).toEqual([
      'http://c.test/api/v1/devices/tasks',
      'http://c.test/api/v1/devices/checkin',
    ])
    expect(c.asked[0]!.init?.headers).toEqual({})
    expect(c.asked[1]!.init?.headers).toEqual({
      Authorization: 'Bearer secret',
      'Content-Type': 'application/json',
    })
    expect(c.asked[1]!.init?.body).toBe('{"a":1}')
  })

  it('answers a protocol answer whatever its status, and throws a refusal with its code', async () => {
    const c = coordinator(
      () => Response.json({ type: 'late', round: 1 }, { status: 410 }),
      () =>
        Response.json(
          { error: { code: 'unknown_device', message: 'who are you' } },
          { status: 401, statusText: 'Unauthorized' },
        ),
      () => new Response('overloaded', { status: 429, statusText: 'Too Many Requests' }),
    )
    const http = createDeviceHttp({ server: 'http://c.test', fetch: c.fetch })
    expect(await http.json('/u')).toEqual({ type: 'late', round: 1 })
    const refused = await http.json('/u').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ProtocolError)
    expect(refused).toMatchObject({ status: 401, code: 'unknown_device', message: 'who are you' })
    expect(await http.json('/u').catch((e: unknown) => e)).toMatchObject({
      status: 429,
      message: 'Too Many Requests',
      statusText: 'Too Many Requests',
    })
  })

  it('tries network errors and 5xx again, as many times as it was told, then gives up', async () => {
    const c = coordinator(
      () => new Response('down', { status: 503 }),
      () => Promise.reject(new TypeError('Failed to fetch')),
      () => Response.json({ ok: true }),
    )
    const http = createDeviceHttp({
      server: 'http://c.test',
      fetch: c.fetch,
      attempts: 3,
      sleep: instant,
    })
    expect(await http.json('/x')).toEqual({ ok: true })
    expect(c.asked).toHaveLength(3)

    const once = coordinator(() => new Response('down', { status: 503 }))
    const plain = createDeviceHttp({ server: 'http://c.test', fetch: once.fetch })
    expect((await plain.request('/x')).status).toBe(503)
    expect(once.asked).toHaveLength(1)
  })

  it('reads bytes, and names what was refused', async () => {
    const c = coordinator(
      () => new Response(new Uint8Array([1, 2, 3])),
      () => new Response('gone', { status: 404, statusText: 'Not Found' }),
    )
    const http = createDeviceHttp({ server: 'http://c.test', fetch: c.fetch })
    expect(Array.from(await http.bytes('/m'))).toEqual([1, 2, 3])
    await expect(http.bytes('/m', 'model ab')).rejects.toMatchObject({
      status: 404,
      message: 'model ab: Not Found',
    })
  })

  it('reads an error body, or falls back on the status text', async () => {
    const body = { error: { code: 'bad', message: 'no' } }
    expect(await readError(Response.json(body, { status: 400 }))).toEqual({
      code: 'bad',
      message: 'no',
    })
    expect(
      await readError(new Response('<html>', { status: 502, statusText: 'Bad Gateway' })),
    ).toEqual({ message: 'Bad Gateway' })
  })
})
