import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, getWeights, setWeights, toLayersTopology } from '../shared/models/index.ts'
import {
  type CurrentModelAnswer,
  MNIST_DATASET,
  PROTOCOL_VERSION,
  type ServerEvent,
  type TaskView,
} from '../shared/protocol/index.ts'
import { decodeContainer, encodeContainer, sha256Hex } from '../shared/tensors/index.ts'
import { ADMIN_TOKEN, startCoordinator, waitFor, type Running } from './harness.ts'
import { readSse } from './sse.ts'

describe('admin REST API', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator({ keepAliveMs: 200 })
  })
  afterAll(() => running.close())

  it('creates a task with defaults for all but name, purpose and model, lists, gets and deletes it', async () => {
    const response = await running.admin.call('/api/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({ name: 'defaults', purpose: 'Defaults.', model: { preset: 'synet' } }),
    })
    expect(response.status).toBe(201)
    const task = (await response.json()) as TaskView
    expect(task).toMatchObject({
      name: 'defaults',
      purpose: 'Defaults.',
      status: 'running',
      seed: expect.any(Number) as number,
      dataset: 'mnist',
      round: 1,
      committedRounds: 0,
      model: { preset: 'synet', parameters: 1_199_882 },
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      rounds: {
        total: 20,
        clientsPerRound: 10,
        minReports: 5,
        deadlineSeconds: 120,
        overSelect: 1.3,
      },
    })
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/)
    const list = (await (await running.admin.call('/api/v1/tasks')).json()) as { tasks: TaskView[] }
    expect(list.tasks.map((t) => t.id)).toContain(task.id)
    expect((await running.admin.rounds(task.id)).map((r) => [r.round, r.status])).toEqual([
      [1, 'open'],
    ])
    expect(
      (await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })).status,
    ).toBe(204)
    expect((await running.admin.call(`/api/v1/tasks/${task.id}`)).status).toBe(404)
  })

  it('pauses, changes settings for the next rounds, and resumes', async () => {
    const task = await running.admin.createTask({
      name: 'steer',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
    })
    const patch = (body: object) =>
      running.admin.call(`/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        body: JSON.stringify(body),
      })
    const paused = (await (
      await patch({ status: 'paused', rounds: { deadlineSeconds: 30, clientsPerRound: 6 } })
    ).json()) as TaskView
    expect(paused).toMatchObject({
      status: 'paused',
      rounds: { deadlineSeconds: 30, clientsPerRound: 6, minReports: 5 },
    })
    expect(
      (
        (await (await patch({ rounds: { minReports: 9 } })).json()) as {
          error: { issues: { field: string }[] }
        }
      ).error.issues[0]?.field,
    ).toBe('rounds.minReports')

    // A paused task selects nobody: devices are told to come back later.
    const { token } = (await (
      await fetch(`${running.url}/api/v1/devices`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
      })
    ).json()) as { token: string }
    const checkin = async () =>
      (await (
        await fetch(`${running.url}/api/v1/devices/checkin`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({
            protocolVersion: PROTOCOL_VERSION,
            capabilities: { backend: 'wasm' },
            datasets: [{ name: 'mnist', examples: 3, labels: [1, 2] }],
          }),
        })
      ).json()) as { type: string; taskId?: string; reason?: string }
    expect(await checkin()).toMatchObject({
      type: 'retry',
      reason: 'the tasks this device can join are paused',
    })
    expect(await (await patch({ status: 'running' })).json()).toMatchObject({ status: 'running' })
    expect(await checkin()).toMatchObject({ type: 'assignment', taskId: task.id })

    // Datasets are counted from what devices declare: counts and histograms, never examples.
    const { datasets } = (await (await running.admin.call('/api/v1/datasets')).json()) as {
      datasets: object[]
    }
    // mnist is declared: one count per class of its ten.
    expect(datasets).toMatchObject([
      {
        name: 'mnist',
        declared: true,
        devices: { active: 1, enrolled: 1 },
        examples: 3,
        labels: [1, 2, 0, 0, 0, 0, 0, 0, 0, 0],
      },
    ])
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('describes tasks to phones for consent, and assigns only what the owner agreed to', async () => {
    const task = await running.admin.createTask({
      name: 'consent <b>bold</b>',
      purpose: 'Read digits; nothing else.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 3, clientsPerRound: 2, deadlineSeconds: 90 },
    })
    const enrol = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    const { token } = (await enrol.json()) as { token: string }
    const auth = { Authorization: `Bearer ${token}` }
    const listed = (await (
      await fetch(`${running.url}/api/v1/devices/tasks`, { headers: auth })
    ).json()) as {
      tasks: object[]
    }
    expect(listed.tasks).toContainEqual({
      id: task.id,
      name: 'consent <b>bold</b>',
      purpose: 'Read digits; nothing else.',
      status: 'running',
      endedAt: null,
      dataset: 'mnist',
      datasetSpec: MNIST_DATASET,
      model: { preset: 'mnist-2nn', parameters: 199_210 },
      updateBytes: 199_210 * 4,
      mode: 'sync',
      rounds: { total: 3, committed: 0, deadlineSeconds: 90 },
      async: null,
      accuracy: null,
      privacy: { differentialPrivacy: null, secureAggregation: false },
    })
    expect((await fetch(`${running.url}/api/v1/devices/tasks`)).status).toBe(401)

    const checkin = async (consents: string[]) =>
      (await (
        await fetch(`${running.url}/api/v1/devices/checkin`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...auth },
          body: JSON.stringify({
            protocolVersion: PROTOCOL_VERSION,
            capabilities: { backend: 'wasm' },
            datasets: [{ name: 'mnist', examples: 3, labels: [3] }],
            consents,
          }),
        })
      ).json()) as { type: string; taskId?: string }
    expect(await checkin([])).toMatchObject({ type: 'none' })
    expect(await checkin(['some-other-task'])).toMatchObject({ type: 'none' })
    expect(await checkin([task.id])).toMatchObject({ type: 'assignment', taskId: task.id })
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it("gives phones a task's current model to try: spec, hash and its immutable weights", async () => {
    const task = await running.admin.createTask({
      name: 'try me',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 1 },
    })
    const enrol = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    const { token } = (await enrol.json()) as { token: string }
    const auth = { Authorization: `Bearer ${token}` }
    const path = `/api/v1/devices/tasks/${task.id}/model`
    const response = await fetch(`${running.url}${path}`, { headers: auth })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const answer = (await response.json()) as CurrentModelAnswer
    expect(answer).toEqual({
      type: 'model',
      taskId: task.id,
      committedRounds: 0,
      model: {
        spec: { preset: 'mnist-2nn' },
        hash: task.model.hash,
        url: `/api/v1/models/${task.model.hash}`,
      },
    })
    // The weights behind it are the content-addressed blob, with the device's token.
    const blob = await fetch(`${running.url}${answer.model.url}`, { headers: auth })
    const bytes = new Uint8Array(await blob.arrayBuffer())
    expect(await sha256Hex(bytes)).toBe(answer.model.hash)
    expect(decodeContainer(bytes).tensors.map((t) => t.name)).toHaveLength(6)

    expect((await fetch(`${running.url}${path}`)).status).toBe(401)
    const unknown = await fetch(`${running.url}/api/v1/devices/tasks/no-such-task/model`, {
      headers: auth,
    })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({
      error: { code: 'not_found', issues: [{ field: 'id' }] },
    })
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
    expect((await fetch(`${running.url}${path}`, { headers: auth })).status).toBe(404)
  })

  it('exports the global model in TF.js Layers format, loadable by tf.loadLayersModel', async () => {
    const task = await running.admin.createTask({
      name: 'export',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
    })
    const url = `${running.url}/api/v1/tasks/${task.id}/model`
    const loaded = await tfl.loadLayersModel(url, {
      requestInit: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } },
    })
    const blob = await fetch(`${running.url}/api/v1/models/${task.model.hash}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    const reference = buildModel({ preset: 'mnist-2nn' })
    setWeights(reference, decodeContainer(new Uint8Array(await blob.arrayBuffer())).tensors)
    const x = tf.randomUniform([4, 784])
    const [a, b] = [loaded.predict(x) as tf.Tensor, reference.predict(x) as tf.Tensor]
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()))
    tf.dispose([x, a, b])
    loaded.dispose()
    reference.dispose()
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('takes a custom TF.js topology with initial weights, and names what is wrong with them', async () => {
    const model = buildModel({ preset: 'mnist-2nn' })
    const topology = toLayersTopology(model) as unknown as Record<string, unknown>
    const container = encodeContainer({ tensors: getWeights(model) })
    const initialWeights = Buffer.from(container).toString('base64')
    const task = await running.admin.createTask({
      name: 'custom',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'custom', topology, initialWeights },
    })
    expect(task.model).toMatchObject({
      preset: 'custom',
      parameters: 199_210,
      hash: await sha256Hex(container),
    })

    const wrong = encodeContainer({ tensors: getWeights(model).slice(0, 2) })
    const response = await running.admin.call('/api/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({
        name: 'custom, bad weights',
        purpose: 'Refused.',
        model: {
          preset: 'custom',
          topology,
          initialWeights: Buffer.from(wrong).toString('base64'),
        },
      }),
    })
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as {
      error: { code: string; issues: { field: string }[] }
    }
    expect(error.code).toBe('invalid_model')
    expect(error.issues[0]?.field).toBe('model.initialWeights')
    model.dispose()
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('serves models immutably by hash, with an ETag', async () => {
    const task = await running.admin.createTask({
      name: 'etag',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
    })
    const url = `${running.url}/api/v1/models/${task.model.hash}`
    const first = await fetch(url, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(first.status).toBe(200)
    expect(first.headers.get('etag')).toBe(`"${task.model.hash}"`)
    expect(first.headers.get('cache-control')).toContain('immutable')
    await first.arrayBuffer()
    const again = await fetch(url, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'If-None-Match': `"${task.model.hash}"` },
    })
    expect(again.status).toBe(304)
    expect((await fetch(url)).status).toBe(401)
    expect(
      (
        await fetch(`${running.url}/api/v1/models/${'0'.repeat(64)}`, {
          headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).status,
    ).toBe(404)
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('streams events, and replays what a reconnecting client missed', async () => {
    const controller = new AbortController()
    const response = await fetch(`${running.url}/api/v1/events?token=${ADMIN_TOKEN}`, {
      signal: controller.signal,
    })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const seen: { id?: string | undefined; event: string; data: ServerEvent }[] = []
    const pump = readSse(response.body!, ({ id, event, data }) =>
      seen.push({ id, event, data: JSON.parse(data) as ServerEvent }),
    )
    await waitFor(() => (seen.some((e) => e.event === 'ready') ? true : undefined))
    const task = await running.admin.createTask({
      name: 'events',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
    })
    await waitFor(() => (seen.some((e) => e.event === 'round.opened') ? true : undefined))
    expect(seen.find((e) => e.event === 'task.created')?.data).toMatchObject({
      type: 'task.created',
      task: { id: task.id },
    })
    controller.abort()
    await pump

    // Reconnect with Last-Event-ID: the events after it come first.
    const created = seen.find((e) => e.event === 'task.created')!
    const replay = await fetch(`${running.url}/api/v1/events`, {
      headers: {
        Authorization: `Bearer ${ADMIN_TOKEN}`,
        'Last-Event-ID': String(Number(created.id) - 1),
      },
    })
    const replayReader = replay.body!.getReader()
    const text = new TextDecoder().decode((await replayReader.read()).value)
    expect(text).toContain('event: task.created')
    await replayReader.cancel()
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('serves health, Prometheus metrics and an OpenAPI description', async () => {
    expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ status: 'ok' })
    await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    const metrics = await (await fetch(`${running.url}/metrics`)).text()
    expect(metrics).toMatch(/^# TYPE pollen_devices_enrolled_total counter$/m)
    expect(metrics).toMatch(/^pollen_devices_enrolled_total [1-9]\d*$/m)
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m)
    const openapi = (await (await fetch(`${running.url}/api/v1/openapi.json`)).json()) as {
      openapi: string
      paths: Record<
        string,
        {
          post?: { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }
        }
      >
    }
    expect(openapi.openapi).toBe('3.1.0')
    expect(
      Object.keys(
        openapi.paths['/api/v1/tasks']!.post!.requestBody!.content['application/json']!.schema
          .properties!,
      ),
    ).toEqual(
      expect.arrayContaining([
        'name',
        'purpose',
        'model',
        'dataset',
        'train',
        'rounds',
        'privacy',
        'secureAggregation',
      ]),
    )
    const keys = openapi.paths['/api/v1/tasks/{id}/rounds/{round}/secagg/keys']!.post!
    expect(Object.keys(keys.requestBody!.content['application/json']!.schema.properties!)).toEqual([
      'encryptionKey',
      'maskKey',
    ])
  })
})
