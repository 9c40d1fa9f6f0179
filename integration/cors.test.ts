// A page of another origin (the embeddable client on someone's web app) may speak the device
// protocol and load /embed/* and /assets/*, over real HTTP; the admin API stays closed to it.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION } from '../shared/protocol/index.ts'
import { ADMIN_TOKEN, startCoordinator, type Running } from './harness.ts'

const ORIGIN = 'http://shop.example:5173'

describe('CORS: the device protocol and the embeddable client answer other origins', () => {
  let running: Running
  beforeAll(async () => {
    const clientDir = await mkdtemp(join(tmpdir(), 'pollen-cors-'))
    await mkdir(join(clientDir, 'embed'))
    await mkdir(join(clientDir, 'assets'))
    await writeFile(join(clientDir, 'embed', 'pollen.js'), 'export const connect = 1')
    await writeFile(join(clientDir, 'assets', 'worker-1a2b.js'), 'self.onmessage = null')
    await writeFile(join(clientDir, 'index.html'), '<!doctype html><title>Pollen</title>')
    running = await startCoordinator({ clientDir })
  })
  afterAll(() => running.close())

  const preflight = (path: string, method = 'POST') =>
    fetch(`${running.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        Origin: ORIGIN,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    })

  it('answers a device route’s preflight: any origin, the token header, no credentials', async () => {
    for (const path of [
      '/api/v1/devices',
      '/api/v1/devices/checkin',
      '/api/v1/devices/tasks',
      '/api/v1/devices/datasets/plants',
      '/api/v1/models/' + 'a'.repeat(64),
      '/api/v1/tasks/t1/rounds/3/updates',
      '/api/v1/tasks/t1/rounds/3/secagg/keys',
    ]) {
      const answer = await preflight(path)
      expect(answer.status, path).toBe(204)
      expect(answer.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
        'authorization',
      )
      expect(answer.headers.get('access-control-allow-methods')).toBe('GET,HEAD,POST')
      expect(answer.headers.get('access-control-allow-credentials'), path).toBeNull()
    }
  })

  it('lets another origin enrol, check in and read the refusals (errors carry CORS too)', async () => {
    const enrol = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    expect(enrol.status).toBe(201)
    expect(enrol.headers.get('access-control-allow-origin')).toBe('*')
    expect(enrol.headers.get('access-control-expose-headers')).toBe('Retry-After')
    const { token } = (await enrol.json()) as { token: string }

    const tasks = await fetch(`${running.url}/api/v1/devices/tasks`, {
      headers: { Origin: ORIGIN, Authorization: `Bearer ${token}` },
    })
    expect(tasks.status).toBe(200)
    expect(tasks.headers.get('access-control-allow-origin')).toBe('*')

    const refused = await fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe('*')
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } })
  })

  it('serves the embeddable module and its assets to other origins', async () => {
    for (const path of ['/embed/pollen.js', '/assets/worker-1a2b.js']) {
      const file = await fetch(`${running.url}${path}`, { headers: { Origin: ORIGIN } })
      expect(file.status, path).toBe(200)
      expect(file.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(file.headers.get('content-type'), path).toContain('javascript')
    }
  })

  it('keeps the admin API, the dashboard and the app shell closed to other origins', async () => {
    const admin = { Origin: ORIGIN, Authorization: `Bearer ${ADMIN_TOKEN}` }
    for (const path of [
      '/api/v1/tasks',
      '/api/v1/datasets',
      '/api/v1/join',
      '/api/v1/tasks/t1/rounds',
      '/api/v1/tasks/t1/rounds/3/devices',
      '/api/v1/tasks/t1/rounds/3/model',
      '/',
      '/metrics',
    ]) {
      const answer = await fetch(`${running.url}${path}`, { headers: admin })
      expect(answer.headers.get('access-control-allow-origin'), path).toBeNull()
      const pre = await preflight(path, 'GET')
      expect(pre.headers.get('access-control-allow-origin'), `OPTIONS ${path}`).toBeNull()
      // Not a 2xx either (404, or the admin API's 401): the preflight fails twice over.
      expect(pre.ok, `OPTIONS ${path}`).toBe(false)
    }
    // Creating a task from a foreign page: its preflight is refused, so the browser never sends it.
    const create = await preflight('/api/v1/tasks', 'POST')
    expect(create.headers.get('access-control-allow-origin')).toBeNull()
  })
})
