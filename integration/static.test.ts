import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type Running } from './harness.ts'

describe('the phone app and public files', () => {
  let running: Running
  let missing: Running
  beforeAll(async () => {
    const clientDir = await mkdtemp(join(tmpdir(), 'pollen-client-'))
    const publicDir = await mkdtemp(join(tmpdir(), 'pollen-public-'))
    await mkdir(join(clientDir, 'assets'))
    await mkdir(join(clientDir, 'dashboard'))
    await writeFile(join(clientDir, 'dashboard', 'index.html'), '<title>Pollen dashboard</title>')
    await mkdir(join(publicDir, 'data'))
    await writeFile(join(clientDir, 'index.html'), '<!doctype html><title>Pollen</title>')
    await writeFile(join(clientDir, 'assets', 'app-1a2b.js'), 'console.log(1)')
    await writeFile(join(clientDir, 'sw.js'), 'self.addEventListener("fetch", () => {})')
    await writeFile(join(publicDir, 'data', 'demo.bin'), new Uint8Array([1, 2, 3]))
    running = await startCoordinator({ clientDir, publicDir })
    missing = await startCoordinator({ clientDir: join(clientDir, 'nope'), publicDir })
  })
  afterAll(async () => {
    await running.close()
    await missing.close()
  })

  it('serves the app shell, assets and public files, cross-origin isolated', async () => {
    const shell = await fetch(`${running.url}/`)
    expect(shell.status).toBe(200)
    expect(await shell.text()).toContain('<title>Pollen</title>')
    expect(shell.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(shell.headers.get('cross-origin-embedder-policy')).toBe('require-corp')
    expect(shell.headers.get('cache-control')).toBe('no-cache')
    const asset = await fetch(`${running.url}/assets/app-1a2b.js`)
    expect(asset.headers.get('cache-control')).toContain('immutable')
    expect(asset.headers.get('content-type')).toContain('javascript')
    expect((await fetch(`${running.url}/sw.js`)).headers.get('cache-control')).toBe('no-cache')
    const data = await fetch(`${running.url}/data/demo.bin`)
    expect(new Uint8Array(await data.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]))
    // The API answers are isolated too.
    expect(
      (await fetch(`${running.url}/healthz`)).headers.get('cross-origin-embedder-policy'),
    ).toBe('require-corp')
  })

  it('serves nothing outside its folders, and leaves the API to its own rules', async () => {
    for (const path of [
      '/..%2f..%2fetc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/../../package.json',
    ])
      expect((await fetch(`${running.url}${path}`)).status).toBe(404)
    expect((await fetch(`${running.url}/api/v1/tasks`)).status).toBe(401)
    const unknown = await fetch(`${running.url}/nothing-here`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } })
  })

  it('serves the dashboard at /dashboard, with or without the slash, isolated like the app', async () => {
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const page = await fetch(`${running.url}${path}`)
      expect(page.status, path).toBe(200)
      expect(await page.text()).toContain('<title>Pollen dashboard</title>')
      expect(page.headers.get('content-type')).toContain('text/html')
      expect(page.headers.get('cache-control')).toBe('no-cache')
      expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp')
    }
  })

  it('sends the security headers on the app, the dashboard, the service worker and the API', async () => {
    for (const path of [
      '/',
      '/dashboard',
      '/sw.js',
      '/assets/app-1a2b.js',
      '/healthz',
      '/api/v1/tasks',
      '/nothing-here',
    ]) {
      const { headers } = await fetch(`${running.url}${path}`)
      const csp = headers.get('content-security-policy') ?? ''
      // No foreign page may frame the app or the dashboard; no script but our own, no eval
      // beyond compiling WebAssembly (TF.js's WASM backend).
      expect(csp, path).toContain("frame-ancestors 'none'")
      expect(csp, path).toContain("default-src 'self'")
      expect(csp, path).toContain("script-src 'self' 'wasm-unsafe-eval' blob:;")
      expect(csp, path).toContain("object-src 'none'")
      expect(csp, path).not.toContain("'unsafe-inline'")
      expect(csp, path).not.toContain("'unsafe-eval'")
      expect(headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(headers.get('x-frame-options'), path).toBe('DENY')
      expect(headers.get('referrer-policy'), path).toBe('no-referrer')
      expect(headers.get('cross-origin-opener-policy'), path).toBe('same-origin')
    }
  })

  it('says how to build the app and the dashboard when they are missing', async () => {
    const response = await fetch(`${missing.url}/`)
    expect(response.status).toBe(503)
    expect(await response.text()).toContain('npm run build:client')
    const dashboard = await fetch(`${missing.url}/dashboard`)
    expect(dashboard.status).toBe(503)
    expect(await dashboard.text()).toContain('dashboard is not built')
  })
})
