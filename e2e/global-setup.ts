// Starts a real coordinator (a child process, an empty data dir, no demo task) for the whole
// run, waits until it answers /healthz and serves the built app, and stops it afterwards.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { e2eEnvironment } from './environment.ts'

const repo = fileURLToPath(new URL('..', import.meta.url))

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(join(repo, 'dist', 'client', 'index.html'))) {
    throw new Error('the phone app is not built: run `npm run build:client` first')
  }
  const { port, url, adminToken } = await e2eEnvironment()
  const dataDir = await mkdtemp(join(tmpdir(), 'pollen-e2e-'))
  // Tests that check what the coordinator stored read its data dir (workers inherit this).
  process.env.POLLEN_E2E_DATA = dataDir
  await mkdir(join(repo, 'test-results'), { recursive: true })
  const logPath = join(repo, 'test-results', 'coordinator.log')
  const log = createWriteStream(logPath)
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: repo,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      POLLEN_DATA: dataDir,
      POLLEN_ADMIN_TOKEN: adminToken,
      POLLEN_DEMO: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  const exited = once(child, 'exit')

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    log.end()
    await rm(dataDir, { recursive: true, force: true })
  }

  try {
    await waitForHealthy(url, child)
    const page = await fetch(`${url}/`)
    const html = await page.text()
    if (!page.ok || !html.includes('/assets/')) {
      throw new Error(`the coordinator does not serve the built app at / (${page.status})`)
    }
  } catch (error) {
    await stop()
    throw new Error(`the coordinator did not start; see ${logPath}`, { cause: error })
  }
  return stop
}

async function waitForHealthy(url: string, child: { exitCode: number | null }): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`)
    try {
      const response = await fetch(`${url}/healthz`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('no answer from /healthz within 60 s')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
