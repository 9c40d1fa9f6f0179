// "Try the model" against a real coordinator: the phone's loader downloads a task's current model
// once, keeps it in IndexedDB by hash, then answers from there, offline too, and names what is
// wrong when it cannot.
import 'fake-indexeddb/auto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPollenDB, type PollenDatabase, STORES } from '../client/app/storage/index.ts'
import { loadTryModel, TryModelError } from '../client/app/try/model.ts'
import { PROTOCOL_VERSION, type TaskView } from '../shared/protocol/index.ts'
import { startCoordinator, type Running } from './harness.ts'

describe('loadTryModel', () => {
  let running: Running
  let task: TaskView
  let token: string
  let db: PollenDatabase
  beforeAll(async () => {
    running = await startCoordinator()
    task = await running.admin.createTask({
      name: 'try',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
    })
    const enrol = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    token = ((await enrol.json()) as { token: string }).token
    db = await openPollenDB({ name: 'pollen-try-model' })
  })
  afterAll(async () => {
    db.close()
    await running.close()
  })

  const href = (input: RequestInfo | URL) =>
    new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : input)
  /** fetch, recording the paths asked for. */
  const recording = () => {
    const paths: string[] = []
    const wrapped: typeof fetch = (input, init) => {
      paths.push(href(input).pathname)
      return fetch(input, init)
    }
    return { paths, fetch: wrapped }
  }
  const offline: typeof fetch = () => Promise.reject(new TypeError('Failed to fetch'))
  const options = () => ({ db, server: running.url, taskId: task.id, taskName: 'try', token })

  it('refuses, naming why: no model kept offline, a task not offered, an unknown phone', async () => {
    const codes = async (extra: object) =>
      loadTryModel({ ...options(), ...extra }).then(
        () => 'loaded',
        (error: unknown) => (error instanceof TryModelError ? error.code : String(error)),
      )
    expect(await codes({ fetch: offline })).toBe('offline')
    expect(await codes({ taskId: 'no-such-task' })).toBe('not-offered')
    expect(await codes({ token: 'not-a-token' })).toBe('unauthorised')
    expect(await db.count(STORES.models)).toBe(0)
  })

  it('refuses a model whose bytes do not match its hash, and keeps nothing', async () => {
    const corrupting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (!href(input).pathname.startsWith('/api/v1/models/')) return response
      const bytes = new Uint8Array(await response.arrayBuffer())
      bytes[bytes.length - 1]! ^= 0xff
      return new Response(bytes, { status: 200 })
    }
    await expect(loadTryModel({ ...options(), fetch: corrupting })).rejects.toMatchObject({
      code: 'damaged',
    })
    expect(await db.count(STORES.models)).toBe(0)
  })

  it('downloads once, then answers from IndexedDB, and offline from the kept copy', async () => {
    const first = recording()
    const downloaded = await loadTryModel({ ...options(), fetch: first.fetch, now: 1000 })
    expect(downloaded).toMatchObject({
      from: 'download',
      hash: task.model.hash,
      spec: { preset: 'mnist-2nn' },
      committedRounds: 0,
    })
    expect(downloaded.weights).toHaveLength(6)
    expect(first.paths).toEqual([
      `/api/v1/devices/tasks/${task.id}/model`,
      `/api/v1/models/${task.model.hash}`,
    ])
    expect(await db.get(STORES.models, task.model.hash)).toMatchObject({
      taskId: task.id,
      taskName: 'try',
      spec: { preset: 'mnist-2nn' },
      storedAt: 1000,
    })

    const again = recording()
    const stored = await loadTryModel({ ...options(), fetch: again.fetch })
    expect(stored.from).toBe('stored')
    expect(again.paths).toEqual([`/api/v1/devices/tasks/${task.id}/model`])
    expect(stored.weights.map((t) => Array.from(t.data.subarray(0, 4)))).toEqual(
      downloaded.weights.map((t) => Array.from(t.data.subarray(0, 4))),
    )

    const away = await loadTryModel({ ...options(), fetch: offline })
    expect(away).toMatchObject({ from: 'offline', hash: task.model.hash, committedRounds: null })
    expect(away.storedAt).toBe(1000)
  })
})
