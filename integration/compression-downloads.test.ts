import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDeviceHttp } from '../client/device/http.ts'
import { memoryModelStore, modelSource } from '../client/device/models.ts'
import {
  type Assignment,
  type DownloadEncoding,
  plannedSteps,
  type RoundView,
  type TaskView,
} from '../shared/protocol/index.ts'
import {
  baseWeights,
  decodeContainer,
  type NamedTensor,
  sha256Hex,
} from '../shared/tensors/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { DELTA_BASE_ROUNDS } from '../server/api/model-downloads.ts'
import { ADMIN_TOKEN, startCoordinator, waitFor, type Running } from './harness.ts'
import { rawDevice } from './raw-device.ts'

// Compressed model downloads end to end (issue 18): the device side's model source asks a real
// coordinator over HTTP for float16, then a delta from the model it holds whole, and the round
// counts the bytes sent.

const purpose = 'Train a digit reader; the model comes down in fewer bytes.'
const EXAMPLES = 600

describe('compressed model downloads', () => {
  const clock = createVirtualClock(Date.now())
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator({ clock })
  })
  afterAll(() => running.close())

  const get = (path: string, token = ADMIN_TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${running.url}${path}`, { headers: { Authorization: `Bearer ${token}`, ...headers } })
  const trueModel = async (hash: string) =>
    decodeContainer(new Uint8Array(await (await get(`/api/v1/models/${hash}`)).arrayBuffer()))
      .tensors
  const roundOf = async (taskId: string, n: number): Promise<RoundView | undefined> =>
    (await running.admin.rounds(taskId)).find((r) => r.round === n)
  const committed = (taskId: string, n: number) =>
    waitFor(async () => {
      const r = await roundOf(taskId, n)
      return r?.status === 'committed' ? r : undefined
    })
  const createTask = (name: string, downloads?: DownloadEncoding[], total = 3) =>
    running.admin.createTask({
      name,
      purpose,
      model: { preset: 'mnist-2nn' },
      rounds: { total, clientsPerRound: 1, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
      ...(downloads ? { compression: { downloads } } : {}),
    })
  /** A right-shaped update, as a round of training moves a model. */
  const update = (model: NamedTensor[], seed: number): NamedTensor[] =>
    model.map((w) => ({ ...w, data: w.data.map((_, k) => Math.sin(seed + k * 0.37) * 1e-2) }))

  it('sends float16, then a delta from it, counting the bytes sent; the model within one int8 step', async () => {
    const task = await createTask('float16 then delta', ['float32', 'float16', 'delta'])
    expect(task.compression.downloads).toEqual(['float32', 'float16', 'delta'])
    const device = await rawDevice(running.url)
    const asked: string[] = []
    const http = createDeviceHttp({
      server: running.url,
      token: () => device.token,
      fetch: (input, init) => {
        asked.push((input as string).slice(running.url.length))
        return fetch(input, init)
      },
    })
    const source = modelSource({ http, store: memoryModelStore() })
    const float32Bytes = (await (await get(`/api/v1/models/${task.model.hash}`)).arrayBuffer())
      .byteLength

    // Round 1: nothing held, so the whole model, as float16.
    const first = (await device.checkin()) as Assignment
    expect(first.compression).toEqual({
      uploads: ['float32'],
      downloads: ['float32', 'float16', 'delta'],
    })
    const held = await source(first)
    expect(asked).toEqual([`/api/v1/models/${first.model.hash}?encoding=float16`])
    const initial = await trueModel(first.model.hash)
    expect(held).toEqual(baseWeights(initial, 'float16'))
    const examples = { examples: EXAMPLES, steps: plannedSteps(first.plan, EXAMPLES) }
    await device.upload(first, update(held, 1), examples)
    const round1 = await committed(task.id, 1)
    expect(round1.bytesDown).toBeLessThan(0.51 * float32Bytes)
    expect(round1.bytesDown).toBeGreaterThan(0.49 * float32Bytes)
    // The round's bytes down by encoding: all of them float16.
    expect(round1.bytesDownByEncoding).toEqual({ float16: round1.bytesDown })

    // Round 2: a delta from the float16 model held.
    const second = (await device.checkin()) as Assignment
    expect(second.model.hash).not.toBe(first.model.hash)
    const weights = await source(second)
    expect(asked[1]).toBe(
      `/api/v1/models/${second.model.hash}?encoding=delta&from=${first.model.hash}&fromEncoding=float16`,
    )
    await device.upload(second, update(weights, 2), examples)
    const round2 = await committed(task.id, 2)
    expect(round2.bytesDown).toBeLessThan(0.27 * float32Bytes)
    expect(round2.bytesDownByEncoding).toEqual({ delta: round2.bytesDown })
    // Within the stated bound: one int8 step of its block of 256 (the largest change there
    // from the float16 base / 127), plus float32 rounding.
    const truth = await trueModel(second.model.hash)
    const base = baseWeights(initial, 'float16')
    let worst = 0
    truth.forEach((t, i) =>
      t.data.forEach((v, k) => {
        const start = k - (k % 256)
        let step = 0
        for (let j = start; j < Math.min(start + 256, t.data.length); j++)
          step = Math.max(step, Math.abs(t.data[j]! - base[i]!.data[j]!) / 127)
        const error = Math.abs(weights[i]!.data[k]! - v)
        worst = Math.max(worst, error / (step * (1 + 2 ** -20) + 2 ** -21 * Math.abs(v)))
      }),
    )
    expect(worst).toBeLessThanOrEqual(1)
    expect(worst).toBeGreaterThan(0)

    // Another task's model of the same layout, held by the coordinator, is no base for this
    // task's model: a delta from it is not computed (float16 instead).
    const other = await createTask('not its chain', ['float32', 'float16', 'delta'])
    const stranger = await get(
      `/api/v1/models/${other.model.hash}?encoding=delta&from=${second.model.hash}`,
      device.token,
    )
    expect(stranger.headers.get('X-Pollen-Encoding')).toBe('float16')
  })

  it(`serves a delta only from the last ${DELTA_BASE_ROUNDS} rounds' models: an older base gets the model whole again`, async () => {
    // The device is to be assigned this task's rounds only: the tasks before it go.
    const listed = (await (await get('/api/v1/tasks')).json()) as { tasks: TaskView[] }
    for (const { id } of listed.tasks)
      await running.admin.call(`/api/v1/tasks/${id}`, { method: 'DELETE' })
    const task = await createTask(
      're-based',
      ['float32', 'float16', 'delta'],
      DELTA_BASE_ROUNDS + 3,
    )
    const device = await rawDevice(running.url)
    const models: string[] = [task.model.hash]
    for (let n = 1; n <= DELTA_BASE_ROUNDS + 1; n++) {
      const assignment = (await device.checkin()) as Assignment
      expect(assignment).toMatchObject({ taskId: task.id, round: n })
      await device.upload(assignment, update(await trueModel(assignment.model.hash), n), {
        examples: EXAMPLES,
        steps: plannedSteps(assignment.plan, EXAMPLES),
      })
      models.push((await committed(task.id, n)).model!)
    }
    const current = models.at(-1)!
    const ask = async (from: string) =>
      (
        await get(`/api/v1/models/${current}?encoding=delta&from=${from}`, device.token)
      ).headers.get('X-Pollen-Encoding')
    // Round DELTA_BASE_ROUNDS + 2 is open, on models[DELTA_BASE_ROUNDS + 1]: the last
    // DELTA_BASE_ROUNDS rounds (the open one too) start from models[2] on.
    expect(await ask(models[0]!)).toBe('float16')
    expect(await ask(models[1]!)).toBe('float16')
    expect(await ask(models[2]!)).toBe('delta')
    expect(await ask(models.at(-2)!)).toBe('delta')
  })

  it('keeps the old URL as it was, and falls back to float32 where the task serves nothing else', async () => {
    const task = await createTask('float32 only')
    expect(task.compression).toEqual({ uploads: ['float32'], downloads: ['float32'] })
    const device = await rawDevice(running.url)
    const path = `/api/v1/models/${task.model.hash}`
    const plain = await get(path, device.token)
    const bytes = new Uint8Array(await plain.arrayBuffer())
    expect(await sha256Hex(bytes)).toBe(task.model.hash)
    expect(plain.headers.get('ETag')).toBe(`"${task.model.hash}"`)
    expect(plain.headers.get('X-Pollen-Encoding')).toBeNull()
    const cached = await get(path, device.token, { 'If-None-Match': `"${task.model.hash}"` })
    expect(cached.status).toBe(304)
    for (const query of ['encoding=float16', `encoding=delta&from=${'0'.repeat(64)}`]) {
      const fallback = await get(`${path}?${query}`, device.token)
      expect(fallback.headers.get('X-Pollen-Encoding')).toBe('float32')
      expect(await sha256Hex(new Uint8Array(await fallback.arrayBuffer()))).toBe(task.model.hash)
    }
    // Served once patched in; a delta from a model the coordinator does not hold: float16.
    const patch = { compression: { downloads: ['float32', 'float16', 'delta'] } }
    const response = await running.admin.call(`/api/v1/tasks/${task.id}`, {
      method: 'PATCH',
      body: JSON.stringify(patch),
    })
    const patched = (await response.json()) as TaskView
    expect(patched.compression.downloads).toEqual(['float32', 'float16', 'delta'])
    const unknown = await get(`${path}?encoding=delta&from=${'0'.repeat(64)}`, device.token)
    expect(unknown.headers.get('X-Pollen-Encoding')).toBe('float16')
    expect(unknown.headers.get('ETag')).toBe(`"${task.model.hash}.float16"`)
    const delta = await get(`${path}?encoding=delta&from=${task.model.hash}`, device.token)
    expect(delta.headers.get('X-Pollen-Encoding')).toBe('delta')
    const etag = `"${task.model.hash}.delta.${task.model.hash}.float32"`
    expect(delta.headers.get('ETag')).toBe(etag)
    const again = await get(`${path}?encoding=delta&from=${task.model.hash}`, device.token, {
      'If-None-Match': etag,
    })
    expect(again.status).toBe(304)
    expect(
      (await get(`${path}?encoding=float32`, device.token)).headers.get('X-Pollen-Encoding'),
    ).toBe('float32')
    expect(decodeContainer(new Uint8Array(await delta.arrayBuffer())).metadata).toEqual({
      encoding: 'delta',
      model: task.model.hash,
      base: task.model.hash,
      baseEncoding: 'float32',
    })
  })

  it('refuses hostile queries naming the query field', async () => {
    const task = await createTask('hostile queries', ['float32', 'delta'])
    const device = await rawDevice(running.url)
    const path = `/api/v1/models/${task.model.hash}`
    const hash = task.model.hash
    const cases: [string, string][] = [
      ['encoding=int8', 'encoding'],
      ['encoding=', 'encoding'],
      ['encoding=delta', 'from'],
      ['encoding=delta&from=abc', 'from'],
      [`encoding=delta&from=${hash.toUpperCase()}`, 'from'],
      [`encoding=delta&from=${hash}&fromEncoding=int8`, 'fromEncoding'],
      [`encoding=float16&from=${hash}`, 'from'],
      [`fromEncoding=float16`, 'fromEncoding'],
    ]
    for (const [query, field] of cases) {
      const response = await get(`${path}?${query}`, device.token)
      expect(response.status, query).toBe(400)
      const body = (await response.json()) as { error: { issues: { field: string }[] } }
      expect(body.error.issues[0]!.field, query).toBe(field)
    }
  })
})
