// What the e2e run shares between the config, the global setup and the tests: the
// coordinator's port (chosen once in the runner; worker processes inherit the environment),
// its admin token, and which Chromium to drive.
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}

/** Sets POLLEN_E2E_PORT and POLLEN_E2E_TOKEN once per run; later calls (workers) read them. */
export async function e2eEnvironment(): Promise<{ port: number; url: string; adminToken: string }> {
  process.env.POLLEN_E2E_PORT ??= String(await freePort())
  process.env.POLLEN_E2E_TOKEN ??= `e2e-${crypto.randomUUID()}`
  const port = Number(process.env.POLLEN_E2E_PORT)
  return { port, url: `http://127.0.0.1:${port}`, adminToken: process.env.POLLEN_E2E_TOKEN }
}

/** Chromium's flags for every e2e browser: quiet, no background traffic, no sandbox in CI. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/**
 * The Chromium to drive: $CHROMIUM_PATH, else a system Chromium or Chrome (Debian's is
 * /usr/bin/chromium), else undefined: Playwright's own, if `npx playwright install` put one there.
 */
export function chromiumPath(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
  ]
  return candidates.find((path): path is string => !!path && existsSync(path))
}

/** Playwright's launch options: the Chromium to drive (where one was found) and its flags. */
export function chromiumLaunch(args: string[] = CHROMIUM_ARGS): {
  executablePath?: string
  args: string[]
} {
  const executablePath = chromiumPath()
  return executablePath ? { executablePath, args } : { args }
}
