// readLimited on the path the coordinator serves uploads on: @hono/node-server over real HTTP,
// the body read straight from Node's request stream (nodeRequest), the client a raw socket so
// that each test sends exactly the bytes, lengths and pauses it means to.
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { createHash } from 'node:crypto'
import { connect, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PollenError } from '../errors.ts'
import { BodyTooLarge, nodeRequest, readLimited } from './body.ts'

const LIMIT = 1_000_000
const timeouts = { idleMs: 300, graceMs: 200, minBytesPerSecond: 1000 }

/** What the route saw: the body's length and SHA-256, or the error it read. */
type Seen =
  | { ok: true; length: number; sha256: string; node: boolean }
  | { ok: false; error: string; code?: string; status?: number; message: string }

let server: ServerType
let port = 0
/** Every request's outcome, in order: read by the tests that cannot see the answer. */
const seen: Seen[] = []

beforeAll(async () => {
  const app = new Hono()
  app.post('/body', async (c) => {
    const node = nodeRequest(c.env)
    let outcome: Seen
    try {
      const grace = Number(c.req.query('graceMs') ?? timeouts.graceMs)
      const bytes = await readLimited(c.req.raw, LIMIT, { ...timeouts, graceMs: grace }, node)
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      outcome = { ok: true, length: bytes.length, sha256, node: node !== undefined }
    } catch (error) {
      const e = error as Error
      outcome =
        error instanceof PollenError
          ? { ok: false, error: e.name, code: error.code, status: error.status, message: e.message }
          : {
              ok: false,
              error: error instanceof BodyTooLarge ? 'BodyTooLarge' : e.name,
              message: e.message,
            }
    }
    seen.push(outcome)
    return c.json(outcome)
  })
  app.get('/ping', (c) => c.text('pong'))
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

interface Sent {
  /** The answer's status and JSON, or null when the connection closed without one. */
  status: number | null
  json: Seen | null
}

/**
 * Sends a POST /body over a raw socket: `head` extra header lines, then each of `parts` (a
 * pause in ms or bytes to write); ends the socket when `end`, and resolves on the answer (or
 * the connection's close).
 */
function send(
  head: string[],
  parts: (Uint8Array | number)[],
  { end = false, path = '/body' } = {},
) {
  return new Promise<Sent>((resolve, reject) => {
    let text = ''
    let done = false
    const finish = (sent: Sent) => {
      if (done) return
      done = true
      socket.destroy()
      resolve(sent)
    }
    const tryAnswer = () => {
      const at = text.indexOf('\r\n\r\n')
      if (at < 0) return
      const status = Number(text.slice(0, at).split(' ')[1])
      const rest = text.slice(at + 4)
      const open = rest.indexOf('{')
      const close = rest.lastIndexOf('}')
      if (open < 0 || close < open) return
      try {
        finish({ status, json: JSON.parse(rest.slice(open, close + 1)) as Seen })
      } catch {
        // Not all of the JSON yet.
      }
    }
    const socket = connect(port, '127.0.0.1', () => {
      void (async () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\n${head.map((h) => h + '\r\n').join('')}\r\n`,
        )
        for (const part of parts) {
          if (done || socket.destroyed) return
          if (typeof part === 'number') await new Promise((r) => setTimeout(r, part))
          else socket.write(part)
        }
        if (end) socket.end()
      })().catch(reject)
    })
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
      tryAnswer()
    })
    socket.on('error', () => finish({ status: null, json: null }))
    socket.on('close', () => finish({ status: null, json: null }))
  })
}

const random = (n: number) => {
  const bytes = new Uint8Array(n)
  for (let i = 0; i < n; i++) bytes[i] = (i * 2654435761) >>> 24
  return bytes
}
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** `bytes` in HTTP/1.1 chunked transfer encoding, in pieces of `size`. */
function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, at + size)
    out.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'))
  }
  out.push(Buffer.from('0\r\n\r\n'))
  return out
}

describe('readLimited, read straight from Node', () => {
  it('reads a body whole, sent in pieces with a length, or chunked without one', async () => {
    const body = random(700_001)
    const pieces = [body.subarray(0, 1), body.subarray(1, 300_000), 5, body.subarray(300_000)]
    const sized = await send([`Content-Length: ${body.length}`], pieces)
    expect(sized.json).toEqual({ ok: true, length: body.length, sha256: sha256(body), node: true })
    const open = await send(['Transfer-Encoding: chunked'], chunked(body, 65_536))
    expect(open.json).toEqual({ ok: true, length: body.length, sha256: sha256(body), node: true })
    const empty = await send(['Content-Length: 0'], [])
    expect(empty.json).toMatchObject({ ok: true, length: 0 })
  })

  it('refuses a declared length past the limit before reading, and answers at once', async () => {
    const started = Date.now()
    const sent = await send([`Content-Length: ${LIMIT + 1}`], [random(1000), 5000])
    expect(sent.json).toMatchObject({ ok: false, error: 'BodyTooLarge' })
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('stops reading a chunked body as soon as it grows past the limit', async () => {
    const started = Date.now()
    const parts = chunked(random(LIMIT + 70_000), 65_536)
    // The rest of the body would take 10 s to come: the answer must not wait for it.
    const sent = await send(['Transfer-Encoding: chunked'], [...parts.slice(0, -3), 10_000])
    expect(sent.json).toMatchObject({ ok: false, error: 'BodyTooLarge' })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('calls a body cut off by a closed connection incomplete, and keeps serving', async () => {
    const before = seen.length
    const sent = await send(['Content-Length: 1000'], [random(400), 50], { end: true })
    // The client is gone: whatever the answer, the route saw an error, not a short body.
    if (sent.json) expect(sent.json.ok).toBe(false)
    await expect.poll(() => seen.length, { timeout: 3000 }).toBeGreaterThan(before)
    expect(seen[before]).toMatchObject({ ok: false })
    expect(seen[before]).not.toMatchObject({ ok: true })
    expect(await (await fetch(`http://127.0.0.1:${port}/ping`)).text()).toBe('pong')
  })

  it('cuts off a body that stalls, after the idle bound', async () => {
    const started = Date.now()
    const sent = await send(['Content-Length: 10'], [random(5), 5000], {
      path: '/body?graceMs=5000',
    })
    expect(sent.json).toMatchObject({ ok: false, code: 'body_timeout', status: 408 })
    expect(sent.json && !sent.json.ok && sent.json.message).toContain(
      'no byte of the body arrived for 0.3 s',
    )
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(300)
    expect(took).toBeLessThan(3000)
  })

  it('cuts off a body that trickles in slower than the bound, though no wait is idle', async () => {
    // 1,000 bytes at 1,000 B/s after 200 ms of grace: 1.2 s in all; at 20 B/s it would take 50 s.
    const started = Date.now()
    const parts = Array.from({ length: 1000 }, (_, i) => (i % 2 ? 50 : random(1)))
    const sent = await send(['Content-Length: 1000'], parts)
    expect(sent.json).toMatchObject({ ok: false, code: 'body_timeout', status: 408 })
    expect(sent.json && !sent.json.ok && sent.json.message).toMatch(
      /took longer than 1.2 s \(\d+ of 1000 bytes arrived\)/,
    )
    expect(Date.now() - started).toBeLessThan(4000)
  })
})
