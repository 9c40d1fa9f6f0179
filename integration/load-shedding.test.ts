// A burst of check-ins must not bury the coordinator: past a bound of device requests in flight,
// check-ins are told to come back later (the protocol's retry), other device requests 503 with
// Retry-After, and /healthz and the admin API keep answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, type CheckinAnswer } from '../shared/protocol/index.ts'
import { startCoordinator, type Running } from './harness.ts'

const DEVICES = 100
const BURST = 500

describe('load shedding under a burst of devices', () => {
  let running: Running
  const tokens: string[] = []
  beforeAll(async () => {
    running = await startCoordinator({ shedding: { maxBusyMs: 30 } })
    await running.admin.createTask({
      name: 'burst',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 50, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    for (let i = 0; i < DEVICES; i++) {
      const response = await fetch(`${running.url}/api/v1/devices`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
      })
      tokens.push(((await response.json()) as { token: string }).token)
    }
  })
  afterAll(() => running.close())

  const checkin = (token: string) =>
    fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
      }),
    })

  it('answers every check-in of a burst, sheds some with retry, and keeps /healthz answering', async () => {
    const started = Date.now()
    const burst = Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const response = await checkin(tokens[i % DEVICES]!)
        return { status: response.status, answer: (await response.json()) as CheckinAnswer }
      }),
    )
    // While the burst is in flight: the health check and the admin API are never shed.
    const health = await fetch(`${running.url}/healthz`)
    const healthMs = Date.now() - started
    const tasks = await running.admin.call('/api/v1/tasks')
    const answers = await burst
    const elapsed = Date.now() - started

    expect(health.status).toBe(200)
    expect(tasks.status).toBe(200)
    expect(healthMs).toBeLessThan(elapsed)
    // Every one answered (none reset, none a 5xx), each a protocol answer.
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
    const types = answers.map((a) => a.answer.type)
    expect(types.every((t) => t === 'assignment' || t === 'retry' || t === 'none')).toBe(true)
    const shed = answers.filter(
      (a) => a.answer.type === 'retry' && a.answer.reason === 'the coordinator is busy',
    )
    console.log(
      `${BURST} check-ins in ${elapsed} ms: ${shed.length} shed with retry, /healthz answered after ${healthMs} ms`,
    )
    expect(shed.length).toBeGreaterThan(0)
    for (const { answer } of shed)
      if (answer.type === 'retry') {
        expect(answer.retryAfterSeconds).toBeGreaterThanOrEqual(0.05)
        expect(answer.retryAfterSeconds).toBeLessThanOrEqual(0.3)
      }
    // The round still filled from those admitted.
    expect(types.filter((t) => t === 'assignment').length).toBeGreaterThan(0)
    expect(elapsed).toBeLessThan(60_000)
  })

  it('answers other device requests past the bound with 503 and Retry-After', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const response = await fetch(`${running.url}/api/v1/devices/tasks`, {
          headers: { Authorization: `Bearer ${tokens[i % DEVICES]}` },
        })
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: (await response.json()) as { error?: { code: string } },
        }
      }),
    )
    expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true)
    const busy = answers.filter((a) => a.status === 503)
    expect(busy.length).toBeGreaterThan(0)
    for (const a of busy) {
      expect(a.body.error?.code).toBe('busy')
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    expect(answers.some((a) => a.status === 200)).toBe(true)
  })
})
