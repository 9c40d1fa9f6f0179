import type { ServerType } from '@hono/node-server'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TaskSpecInput, TaskView, RoundView } from '../shared/protocol/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { listen } from '../server/api/listen.ts'
import { createCoordinator, type CoordinatorOptions } from '../server/app.ts'
import { fileBlobStore } from '../server/blobs/index.ts'
import { pgliteStore } from '../server/store/index.ts'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'

/** A real coordinator on a real loopback port, with PGlite and file blobs in a temp dir. */
export async function startCoordinator(
  options: Partial<Omit<CoordinatorOptions, 'store' | 'blobs' | 'adminToken'>> & {
    dataDir?: string
  } = {},
) {
  await useBackend('wasm')
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'pollen-it-')))
  const store = await pgliteStore(join(dataDir, 'db'))
  const { test } = await loadMnist()
  const coordinator = await createCoordinator({
    heldOut: new Map([['mnist', test]]),
    retry: { minSeconds: 0.05, maxSeconds: 0.3 },
    // The tests' devices train on this process's event loop: its busy turns are theirs, not the
    // coordinator's load. Shedding on a busy loop is tested where a test asks for it.
    shedding: { maxBusyMs: Infinity },
    ...options,
    store,
    blobs: fileBlobStore(join(dataDir, 'blobs')),
    adminToken: ADMIN_TOKEN,
  })
  const server: ServerType = await new Promise((resolve) => {
    const s = listen({ fetch: coordinator.app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s),
    )
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    dataDir,
    store,
    coordinator,
    admin: adminClient(url),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Event streams stay open until told otherwise.
      ;(server as import('node:http').Server).closeAllConnections()
      await closed
      await coordinator.close()
      await store.close()
    },
  }
}

export type Running = Awaited<ReturnType<typeof startCoordinator>>

/** The admin REST API, as a data scientist's script would call it. */
export function adminClient(url: string, token = ADMIN_TOKEN) {
  const call = async (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${token}`,
        // A form (a held-out upload) sets its own multipart type, with its boundary.
        ...(init.body && !(init.body instanceof FormData)
          ? { 'Content-Type': 'application/json' }
          : {}),
        ...init.headers,
      },
    })
  const ok = async <T>(response: Response): Promise<T> => {
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`)
    return (await response.json()) as T
  }
  return {
    call,
    createTask: async (spec: TaskSpecInput) =>
      ok<TaskView>(await call('/api/v1/tasks', { method: 'POST', body: JSON.stringify(spec) })),
    task: async (id: string) => ok<TaskView>(await call(`/api/v1/tasks/${id}`)),
    rounds: async (id: string) =>
      (await ok<{ rounds: RoundView[] }>(await call(`/api/v1/tasks/${id}/rounds`))).rounds,
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** For waitFor: true once the coordinator at `url` answers /healthz, else undefined. */
export const healthy = (url: string) => async () =>
  (await fetch(`${url}/healthz`)
    .then((r) => r.ok)
    .catch(() => false))
    ? true
    : undefined

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })

/** The real coordinator entry point (`npm start`'s), in its own process, output collected. */
export function startChild(
  port: number,
  dataDir: string,
  output: string[],
  env: Record<string, string> = {},
): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      POLLEN_DATA: dataDir,
      POLLEN_ADMIN_TOKEN: ADMIN_TOKEN,
      POLLEN_DEMO: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  return child
}
