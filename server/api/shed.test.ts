import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { onError } from './errors.ts'
import { loadShedder } from './shed.ts'

describe('loadShedder', () => {
  /** An app whose device routes wait until `release` is called. */
  function app(options: Parameters<typeof loadShedder>[0]) {
    const shed = loadShedder(options)
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const routes = new Hono()
    routes.onError(onError(() => {}))
    routes.post('/checkin', shed.guard({ checkin: true }), async (c) => {
      await held
      return c.json({ type: 'assignment' })
    })
    routes.get('/tasks', shed.guard(), async (c) => {
      await held
      return c.json({ tasks: [] })
    })
    return { routes, shed, release }
  }

  it('answers past the bound in flight at once: a check-in with retry, the rest with 503', async () => {
    const { routes, shed, release } = app({
      maxInFlight: 2,
      retry: { minSeconds: 2, maxSeconds: 4 },
    })
    const admitted = [
      Promise.resolve(routes.request('/checkin', { method: 'POST' })),
      Promise.resolve(routes.request('/tasks')),
    ]
    await new Promise((r) => setTimeout(r, 10))
    expect(shed.inFlight()).toBe(2)

    const checkin = await routes.request('/checkin', { method: 'POST' })
    expect(checkin.status).toBe(200)
    const answer = (await checkin.json()) as { type: string; retryAfterSeconds: number }
    expect(answer).toMatchObject({ type: 'retry', reason: 'the coordinator is busy' })
    expect(answer.retryAfterSeconds).toBeGreaterThanOrEqual(2)
    expect(answer.retryAfterSeconds).toBeLessThanOrEqual(4)
    expect(Number(checkin.headers.get('retry-after'))).toBe(Math.ceil(answer.retryAfterSeconds))

    const other = await routes.request('/tasks')
    expect(other.status).toBe(503)
    expect(Number(other.headers.get('retry-after'))).toBeGreaterThanOrEqual(2)
    expect(await other.json()).toMatchObject({ error: { code: 'busy' } })

    release()
    expect((await Promise.all(admitted)).map((r) => r.status)).toEqual([200, 200])
    expect(shed.inFlight()).toBe(0)
    expect((await routes.request('/tasks')).status).toBe(200)
    shed.stop()
  })

  it('sheds once the event loop has run too long without a break, and never an exempt request', async () => {
    const { routes, shed, release } = app({
      maxBusyMs: 50,
      exempt: (c) => c.req.header('authorization') === 'admin',
    })
    release()
    expect((await routes.request('/tasks')).status).toBe(200)
    const until = performance.now() + 100
    while (performance.now() < until); // a long synchronous turn: the loop gets to no timer
    expect((await routes.request('/tasks')).status).toBe(503)
    expect((await routes.request('/tasks', { headers: { authorization: 'admin' } })).status).toBe(
      200,
    )
    await new Promise((r) => setTimeout(r, 30))
    expect((await routes.request('/tasks')).status).toBe(200)
    shed.stop()
  })
})
