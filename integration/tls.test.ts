import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { get } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, freePort, startChild, waitFor } from './harness.ts'

/** GET over HTTPS trusting only `ca`: the certificate must really be valid for localhost. */
const httpsGet = (url: string, ca: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    get(url, { ca, headers }, (response) => {
      let body = ''
      response.on('data', (d: Buffer) => (body += d.toString()))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    }).on('error', reject)
  })

describe('HTTPS for phones', () => {
  const children: ChildProcess[] = []
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')))

  it('serves HTTPS with a self-signed certificate it makes, and prints the URL as a QR code', async () => {
    const port = await freePort()
    const dataDir = await mkdtemp(join(tmpdir(), 'pollen-tls-'))
    const output: string[] = []
    children.push(startChild(port, dataDir, output, { POLLEN_TLS: 'self-signed' }))
    await waitFor(
      () => (output.join('').includes('Open Pollen on a phone') ? true : undefined),
      90_000,
      'start',
    )
    const ca = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8')
    const health = await httpsGet(`https://localhost:${port}/healthz`, ca)
    expect(health).toEqual({ status: 200, body: '{"status":"ok"}' })
    const text = output.join('')
    expect(text).toContain(`Open Pollen on a phone: https://localhost:${port}/`)
    expect(text).toMatch(/[▄▀█]{5,}/) // the QR code, in block characters
    expect(text).toContain('(self-signed, generated)')
    // The dashboard shows the same URL, and its QR code, to the data scientist.
    const joining = await httpsGet(`https://localhost:${port}/api/v1/join`, ca, {
      Authorization: `Bearer ${ADMIN_TOKEN}`,
    })
    expect(JSON.parse(joining.body)).toEqual({
      phoneUrl: `https://localhost:${port}/`,
      urls: [`https://localhost:${port}/`],
    })
  })

  it('refuses a half-given or unknown TLS configuration, saying which variable', async () => {
    for (const [env, message] of [
      [{ POLLEN_TLS_CERT: '/tmp/cert.pem' }, 'set both POLLEN_TLS_CERT and POLLEN_TLS_KEY'],
      [{ POLLEN_TLS: 'yes-please' }, 'POLLEN_TLS must be "self-signed"'],
    ] as const) {
      const output: string[] = []
      const child = startChild(
        await freePort(),
        await mkdtemp(join(tmpdir(), 'pollen-tls-')),
        output,
        env,
      )
      const code = await new Promise((resolve) => child.once('exit', resolve))
      expect(code).toBe(1)
      expect(output.join('')).toContain(`configuration: ${message}`)
    }
  })
})
