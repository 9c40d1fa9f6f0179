// A burst of check-ins must not bury the coordinator: past a bound of device requests in flight,
// check-ins are told to come back later (the protocol's retry), other device requests 503 with
// Retry-After, and /healthz and the admin API keep answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, type CheckinAnswer } from '../shared/protocol/index.ts'
import { burst } from './burst.ts'
import { hashToken } from '../server/api/auth.ts'
import { startCoordinator, type Running } from './harness.ts'

const DEVICES = 100
const BURST = 1000

describe('load shedding under a burst of devices', () => {
  let running: Running
  const tokens: string[] = []
  let taskId: string
  beforeAll(async () => {
    running = await startCoordinator({ shedding: { maxBusyMs: 30 } })
    const task = await running.admin.createTask({
      name: 'burst',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 50, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    taskId = task.id
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

  const checkinBody = {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: { backend: 'wasm' },
    datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
  }
  const port = () => Number(new URL(running.url).port)
  const tokensFor = (n: number) => Array.from({ length: n }, (_, i) => tokens[i % DEVICES]!)

  it('answers every check-in of a burst, sheds some with retry, and keeps /healthz answering', async () => {
    const started = Date.now()
    const answers = burst({
      port: port(),
      method: 'POST',
      path: '/api/v1/devices/checkin',
      body: checkinBody,
      tokens: tokensFor(BURST),
    })
    // While the burst is in flight: the health check and the admin API are never shed.
    let health: { status: number; ms: number } | undefined
    let admin = 0
    const during = (async () => {
      await new Promise((r) => setTimeout(r, 300))
      const asked = Date.now()
      const response = await fetch(`${running.url}/healthz`)
      health = { status: response.status, ms: Date.now() - asked }
      admin = (await running.admin.call('/api/v1/tasks')).status
    })()
    const all = await answers
    await during
    const elapsed = Date.now() - started

    // Every one answered (none reset, none a 5xx), each a protocol answer.
    expect(all.filter((a) => a.error)).toEqual([])
    expect(all.map((a) => a.status)).toEqual(all.map(() => 200))
    const types = all.map((a) => (a.json as CheckinAnswer).type)
    expect(types.every((t) => t === 'assignment' || t === 'retry' || t === 'none')).toBe(true)
    const shed = all.filter((a) => {
      const answer = a.json as CheckinAnswer
      return answer.type === 'retry' && answer.reason === 'the coordinator is busy'
    })
    console.log(
      `${BURST} check-ins in ${elapsed} ms: ${shed.length} shed with retry, ` +
        `${types.filter((t) => t === 'assignment').length} assigned, /healthz answered in ${health?.ms} ms`,
    )
    expect(shed.length).toBeGreaterThan(0)
    for (const a of shed) {
      const { retryAfterSeconds } = a.json as { retryAfterSeconds: number }
      expect(retryAfterSeconds).toBeGreaterThanOrEqual(0.05)
      expect(retryAfterSeconds).toBeLessThanOrEqual(0.3)
      expect(a.headers['retry-after']).toBe('1')
    }
    expect(health?.status).toBe(200)
    expect(health?.ms).toBeLessThan(5000)
    expect(admin).toBe(200)
    // A shed device that comes back once the burst is over is taken.
    const later = await fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens[0]}` },
      body: JSON.stringify(checkinBody),
    })
    const again = (await later.json()) as CheckinAnswer
    expect(again.type === 'retry' ? again.reason : again.type).toBe('assignment')
    expect((await running.admin.rounds(taskId))[0]?.selected).toBeGreaterThan(0)
  })

  it('answers other device requests past the bound with 503 and Retry-After', async () => {
    const all = await burst({
      port: port(),
      method: 'GET',
      path: '/api/v1/devices/tasks',
      tokens: tokensFor(BURST),
    })
    expect(all.filter((a) => a.error)).toEqual([])
    expect(all.every((a) => a.status === 200 || a.status === 503)).toBe(true)
    const busy = all.filter((a) => a.status === 503)
    expect(busy.length).toBeGreaterThan(0)
    for (const a of busy) {
      expect(a.json).toMatchObject({ error: { code: 'busy' } })
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
    expect(all.some((a) => a.status === 200)).toBe(true)
  })

  it('never sheds an upload or a secure stage message: a phone’s finished work is not thrown away', async () => {
    // A coordinator that sheds every request it may (no turn of its loop is short enough), and a
    // device it knows.
    const shedding = await startCoordinator({ shedding: { maxBusyMs: -1 } })
    try {
      const token = 'a-device-token-for-the-shedding-test'
      await shedding.store.insertDevice({
        id: 'device-1',
        tokenHash: hashToken(token),
        label: null,
        capabilities: null,
        datasets: [],
        enrolledAt: Date.now(),
        lastSeenAt: Date.now(),
      })
      const task = await shedding.admin.createTask({
        name: 'shed',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
      })
      const call = (path: string, body: unknown) =>
        fetch(`${shedding.url}${path}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      const checkin = (await (await call('/api/v1/devices/checkin', checkinBody)).json()) as {
        type: string
      }
      expect(checkin.type).toBe('retry')
      // Past the shedder, to the scheduler: this device has no assignment there, and says so.
      const upload = await call(`/api/v1/tasks/${task.id}/rounds/1/updates`, {})
      expect(upload.status).toBe(404)
      expect(await upload.json()).toMatchObject({ type: 'unknown-round' })
      const keys = await call(`/api/v1/tasks/${task.id}/rounds/1/secagg/keys`, {
        type: 'keys',
      })
      expect(keys.status).not.toBe(503)
      expect(((await keys.json()) as { error?: { code: string } }).error?.code).not.toBe('busy')
    } finally {
      await shedding.close()
    }
  })
})
