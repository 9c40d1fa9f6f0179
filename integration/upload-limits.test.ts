// One device must not hold the coordinator's memory with uploads it never finishes: uploads are
// bounded per device and in all (answered at once past the bound, before a byte is read), a
// body that stalls is cut off, and what it held is let go.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, weightSpec } from '../shared/models/index.ts'
import { PROTOCOL_VERSION, type Assignment } from '../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../shared/tensors/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

/** Long enough that all 50 connections arrive while the first two are still stalled. */
const IDLE_MS = 3000

describe('uploads are bounded, and a stalled body is cut off', () => {
  let running: Running
  let port: number
  let baseModel: string
  let taskId: string
  const tokens: string[] = []
  let body: Uint8Array
  beforeAll(async () => {
    running = await startCoordinator({
      uploads: { perDevice: 2, total: 4 },
      bodyTimeouts: { idleMs: IDLE_MS, graceMs: 10_000, minBytesPerSecond: 1024 * 1024 },
    })
    port = Number(new URL(running.url).port)
    const task = await running.admin.createTask({
      name: 'uploads',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 8, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    taskId = task.id
    baseModel = task.model.hash
    for (let i = 0; i < 6; i++) {
      const post = (path: string, json: object, token?: string) =>
        fetch(`${running.url}${path}`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(json),
        })
      const { token } = (await (
        await post('/api/v1/devices', { protocolVersion: PROTOCOL_VERSION })
      ).json()) as { token: string }
      const answer = (await (
        await post(
          '/api/v1/devices/checkin',
          {
            protocolVersion: PROTOCOL_VERSION,
            capabilities: { backend: 'wasm' },
            datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
          },
          token,
        )
      ).json()) as Assignment
      expect(answer.type).toBe('assignment')
      tokens.push(token)
    }
    const tensors = weightSpec(buildModel({ preset: 'mnist-2nn' })).map(({ name, shape }) => ({
      name,
      shape,
      dtype: 'float32' as const,
      data: new Float32Array(tensorSize(shape)).fill(1e-3),
    }))
    body = encodeContainer({ tensors, metadata: { examples: 10, steps: 1, baseModel } })
  })
  afterAll(() => running.close())

  /**
   * An upload over a raw socket that declares the whole body and sends all of it but the last
   * byte: its answer (status, headers, JSON) and when the connection closed, or `open` if it is
   * still open `waitMs` after the answer.
   */
  const stalled = (token: string) =>
    new Promise<{ status: number; headers: string; json: unknown; closedMs: number }>(
      (resolve, reject) => {
        const started = Date.now()
        let text = ''
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            `POST /api/v1/tasks/${taskId}/rounds/1/updates HTTP/1.1\r\nHost: x\r\n` +
              `Authorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\n` +
              `Content-Length: ${body.length}\r\n\r\n`,
          )
          socket.write(body.subarray(0, body.length - 1))
        })
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
        socket.on('error', reject)
        socket.on('close', () => {
          const [head = '', rest = ''] = text.split('\r\n\r\n')
          const status = Number(head.split(' ')[1])
          const json: unknown = rest
            ? JSON.parse(rest.slice(rest.indexOf('{'), rest.lastIndexOf('}') + 1))
            : null
          resolve({ status, headers: head.toLowerCase(), json, closedMs: Date.now() - started })
        })
      },
    )
  const inFlight = async () =>
    Number(
      /^pollen_uploads_in_flight (\d+)$/m.exec(
        await (await fetch(`${running.url}/metrics`)).text(),
      )?.[1],
    )

  it('answers all but the allowed few of 50 uploads from one device at once, and cuts the stalled ones off', async () => {
    const started = Date.now()
    const answers = await Promise.all(Array.from({ length: 50 }, () => stalled(tokens[0]!)))
    const refused = answers.filter((a) => a.status === 429)
    const timedOut = answers.filter((a) => a.status === 408)
    expect(refused.length).toBe(48)
    expect(timedOut.length).toBe(2)
    for (const a of refused) {
      expect(a.headers).toMatch(/\r\nretry-after: \d+/)
      expect(a.json).toMatchObject({ error: { code: 'too_many_uploads' } })
      // At once: long before the admitted two time out.
      expect(a.closedMs).toBeLessThan(IDLE_MS)
    }
    for (const a of timedOut) {
      expect(a.json).toMatchObject({
        error: {
          code: 'body_timeout',
          message: `no byte of the body arrived for ${IDLE_MS / 1000} s`,
          issues: [{ field: '(body)' }],
        },
      })
      expect(a.headers).toContain('connection: close')
      expect(a.closedMs).toBeGreaterThanOrEqual(IDLE_MS)
    }
    expect(Date.now() - started).toBeLessThan(10_000)
    // Nothing is held once they are answered, and nothing was counted against the device.
    expect(await waitFor(async () => ((await inFlight()) === 0 ? true : undefined), 5000)).toBe(
      true,
    )
    expect((await running.admin.rounds(taskId))[0]).toMatchObject({ reported: 0, rejected: 0 })
  })

  it('bounds uploads in all: past it, 503 with Retry-After, and an honest upload afterwards is accepted', async () => {
    const answers = await Promise.all(tokens.map((token) => stalled(token)))
    const busy = answers.filter((a) => a.status === 503)
    expect(busy.length).toBe(2)
    for (const a of busy) {
      expect(a.headers).toMatch(/\r\nretry-after: \d+/)
      expect(a.json).toMatchObject({ error: { code: 'busy' } })
    }
    expect(answers.filter((a) => a.status === 408).length).toBe(4)
    await waitFor(async () => ((await inFlight()) === 0 ? true : undefined), 5000)

    const honest = await fetch(`${running.url}/api/v1/tasks/${taskId}/rounds/1/updates`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/octet-stream' },
      body: body as Uint8Array<ArrayBuffer>,
    })
    expect(honest.status).toBe(200)
    expect(await honest.json()).toMatchObject({ type: 'accepted' })
  })
})
