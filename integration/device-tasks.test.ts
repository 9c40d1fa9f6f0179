// What phones are told of tasks (GET /api/v1/devices/tasks) over real HTTP: a task that ran to
// completion stays listed as completed, with when it ended, its rounds and its final held-out
// accuracy, and its final model can still be fetched to try; an async task carries its FedBuff
// settings; a deleted task is no longer listed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, getWeights } from '../shared/models/index.ts'
import {
  type Assignment,
  type CheckinAnswer,
  type CurrentModelAnswer,
  type DeviceTaskView,
  PROTOCOL_VERSION,
} from '../shared/protocol/index.ts'
import { encodeContainer, type NamedTensor } from '../shared/tensors/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

describe('the tasks listed to phones', () => {
  let running: Running
  let auth: { Authorization: string }
  let delta: NamedTensor[]
  beforeAll(async () => {
    running = await startCoordinator()
    // A small delta of the model's shape (built once the backend is up): its value does not matter.
    delta = getWeights(buildModel({ preset: 'mnist-2nn' })).map((t) => ({
      ...t,
      data: new Float32Array(t.data.length).fill(0.001),
    }))
    const enrolled = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    auth = { Authorization: `Bearer ${((await enrolled.json()) as { token: string }).token}` }
  })
  afterAll(() => running.close())

  const listed = async (): Promise<DeviceTaskView[]> => {
    const response = await fetch(`${running.url}/api/v1/devices/tasks`, { headers: auth })
    expect(response.status).toBe(200)
    return ((await response.json()) as { tasks: DeviceTaskView[] }).tasks
  }
  const checkin = async (): Promise<CheckinAnswer> => {
    const response = await fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples: 50, labels: [50] }],
      }),
    })
    return (await response.json()) as CheckinAnswer
  }
  const upload = async (a: Assignment) => {
    const response = await fetch(`${running.url}${a.uploadUrl}`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/octet-stream' },
      body: encodeContainer({
        tensors: delta,
        metadata: { examples: 50, steps: 2, baseModel: a.model.hash },
      }) as Uint8Array<ArrayBuffer>,
    })
    expect(response.status).toBe(200)
  }

  it('keeps a completed task listed, ended, with its final accuracy and model', async () => {
    const task = await running.admin.createTask({
      name: 'runs to the end',
      purpose: 'Read handwritten digits.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 1, minReports: 1, deadlineSeconds: 600 },
    })
    expect((await listed()).find((t) => t.id === task.id)).toMatchObject({
      status: 'running',
      endedAt: null,
      mode: 'sync',
      async: null,
      accuracy: null,
      rounds: { total: 2, committed: 0, deadlineSeconds: 600 },
    })
    for (const round of [1, 2]) {
      const answer = await waitFor(async () => {
        const a = await checkin()
        return a.type === 'assignment' && a.round === round ? a : undefined
      })
      await upload(answer)
    }
    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    const rounds = await running.admin.rounds(task.id)
    const final = rounds.find((r) => r.round === 2)!
    expect(final.status).toBe('committed')
    expect(final.accuracy).toBeGreaterThan(0)

    const view = (await listed()).find((t) => t.id === task.id)
    expect(view).toMatchObject({
      status: 'completed',
      rounds: { total: 2, committed: 2 },
      accuracy: final.accuracy,
    })
    expect(view!.endedAt).toBe(done.updatedAt)
    expect(view!.stoppedReason).toBeUndefined()

    // Its final model can still be tried: the pointer names the last committed model.
    const response = await fetch(`${running.url}/api/v1/devices/tasks/${task.id}/model`, {
      headers: auth,
    })
    expect(response.status).toBe(200)
    const model = (await response.json()) as CurrentModelAnswer
    expect(model).toMatchObject({ taskId: task.id, committedRounds: 2 })
    expect(model.model.hash).toBe(final.model)
    expect(model.model.hash).toBe(done.model.hash)
    const blob = await fetch(`${running.url}${model.model.url}`, { headers: auth })
    expect(blob.status).toBe(200)

    // Nothing more trains for it.
    expect((await checkin()).type).not.toBe('assignment')

    // Deleted, it is no longer listed, and its model is not served.
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
    expect((await listed()).some((t) => t.id === task.id)).toBe(false)
    const gone = await fetch(`${running.url}/api/v1/devices/tasks/${task.id}/model`, {
      headers: auth,
    })
    expect(gone.status).toBe(404)
  })

  it('describes an async task by its FedBuff settings', async () => {
    const task = await running.admin.createTask({
      name: 'fedbuff',
      purpose: 'Read handwritten digits, asynchronously.',
      model: { preset: 'mnist-2nn' },
      mode: 'async',
      async: { bufferSize: 4, maxStaleness: 3, concurrency: 6 },
      rounds: { total: 30 },
    })
    expect((await listed()).find((t) => t.id === task.id)).toMatchObject({
      status: 'running',
      mode: 'async',
      async: { bufferSize: 4, maxStaleness: 3, concurrency: 6 },
      rounds: { total: 30, committed: 0 },
    })
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })
})
