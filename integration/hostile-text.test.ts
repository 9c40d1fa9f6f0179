// Strings the store cannot hold (NUL, unpaired surrogates) and numbers written oddly in paths:
// refused over HTTP with a 400 naming the field, before anything is selected, stored or counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, weightSpec } from '../shared/models/index.ts'
import { PROTOCOL_VERSION, type Assignment } from '../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../shared/tensors/index.ts'
import { startCoordinator, type Running } from './harness.ts'

const NUL = 'phone\u0000'
const LONE = 'phone\ud800'

describe('hostile text and numbers in requests', () => {
  let running: Running
  let taskId: string
  let baseModel: string
  let honest: string
  beforeAll(async () => {
    running = await startCoordinator()
    const task = await running.admin.createTask({
      name: 'text',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 3, clientsPerRound: 10, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    taskId = task.id
    baseModel = task.model.hash
    honest = await enrol()
  })
  afterAll(() => running.close())

  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${running.url}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    })
  const enrol = async () =>
    (
      (await (await post('/api/v1/devices', { protocolVersion: PROTOCOL_VERSION })).json()) as {
        token: string
      }
    ).token
  const checkin = (token: string, userAgent = 'Mozilla/5.0') =>
    post(
      '/api/v1/devices/checkin',
      {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm', userAgent },
        datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
      },
      token,
    )
  /** The 400 and the field it names. */
  const refusal = async (response: Response) => {
    const body = (await response.json()) as {
      error: { code: string; message: string; issues?: { field: string }[] }
    }
    return { status: response.status, code: body.error.code, field: body.error.issues?.[0]?.field }
  }
  const selected = async () => (await running.admin.rounds(taskId)).map((r) => r.selected)

  it('refuses a check-in whose userAgent holds a NUL or a lone surrogate, selecting no one', async () => {
    const token = await enrol()
    const before = await selected()
    for (const userAgent of [NUL, LONE, `x${'\udc00'}y`]) {
      expect(await refusal(await checkin(token, userAgent)), JSON.stringify(userAgent)).toEqual({
        status: 400,
        code: 'invalid_request',
        field: 'capabilities.userAgent',
      })
      expect(await selected()).toEqual(before)
    }
    // An honest device is still assigned (not told to retry), and so is the same one, honest now;
    // a surrogate pair (an emoji) is text like any other.
    const answer = (await (await checkin(honest, 'Phone 🐝')).json()) as Assignment
    expect(answer.type).toBe('assignment')
    expect(((await (await checkin(token)).json()) as Assignment).type).toBe('assignment')
  })

  it('refuses a device label and a task name or purpose the store cannot hold, storing nothing', async () => {
    const devices = (await running.store.listDevices()).length
    for (const label of [NUL, LONE])
      expect(
        await refusal(await post('/api/v1/devices', { protocolVersion: PROTOCOL_VERSION, label })),
      ).toEqual({ status: 400, code: 'invalid_request', field: 'label' })
    expect((await running.store.listDevices()).length).toBe(devices)

    const tasks: unknown = await (await running.admin.call('/api/v1/tasks')).json()
    const spec = { name: 'ok', purpose: 'ok', model: { preset: 'mnist-2nn' } }
    for (const [field, value] of [
      ['name', NUL],
      ['name', LONE],
      ['purpose', NUL],
      ['purpose', LONE],
    ] as const) {
      const response = await running.admin.call('/api/v1/tasks', {
        method: 'POST',
        body: JSON.stringify({ ...spec, [field]: value }),
      })
      expect(await refusal(response), `${field} ${JSON.stringify(value)}`).toEqual({
        status: 400,
        code: 'invalid_request',
        field,
      })
    }
    // Deep in a body, and in a key: named by its path.
    const nested = await running.admin.call('/api/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({
        ...spec,
        model: { preset: 'custom', topology: { a: [1, { b: NUL }] } },
      }),
    })
    expect(await refusal(nested)).toMatchObject({ status: 400, field: 'model.topology.a.1.b' })
    const key = await running.admin.call('/api/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({ ...spec, ['bad\u0000key']: 1 }),
    })
    expect(await refusal(key)).toMatchObject({ status: 400, field: 'bad\\u0000key' })
    const patch = await running.admin.call(`/api/v1/tasks/${taskId}`, {
      method: 'PATCH',
      body: JSON.stringify({ status: `running${NUL}` }),
    })
    expect(await refusal(patch)).toMatchObject({ status: 400, field: 'status' })
    expect(await (await running.admin.call('/api/v1/tasks')).json()).toEqual(tasks)
  })

  it('refuses such text in a secure aggregation message before any stage sees it', async () => {
    const response = await post(
      `/api/v1/tasks/${taskId}/rounds/1/secagg/keys`,
      { type: 'keys', publicKeys: { x: LONE } },
      honest,
    )
    expect(await refusal(response)).toMatchObject({ status: 400, field: 'publicKeys.x' })
  })

  it('refuses such text in a path or a query string, naming it', async () => {
    const admin = (path: string) => running.admin.call(path)
    for (const path of [
      '/api/v1/tasks/%00',
      `/api/v1/tasks/${taskId}%00/rounds`,
      '/api/v1/tasks/%ED%A0%80/rounds',
      '/api/v1/tasks/%E0%A4%A',
    ])
      expect(await refusal(await admin(path)), path).toMatchObject({
        status: 400,
        field: '(path)',
      })
    expect(await refusal(await admin('/api/v1/events?lastEventId=%00'))).toMatchObject({
      status: 400,
      field: 'lastEventId',
    })
    const device = await fetch(`${running.url}/api/v1/devices/tasks/%00/model`, {
      headers: { Authorization: `Bearer ${honest}` },
    })
    expect(await refusal(device)).toMatchObject({ status: 400, field: '(path)' })
  })

  it('rejects an update whose container metadata holds such text, naming the field', async () => {
    const spec = weightSpec(buildModel({ preset: 'mnist-2nn' }))
    const tensors = spec.map(({ name, shape }) => ({
      name,
      shape,
      dtype: 'float32' as const,
      data: new Float32Array(tensorSize(shape)),
    }))
    const body = encodeContainer({
      tensors,
      metadata: { examples: 10, steps: 1, baseModel: `${baseModel}${NUL}` },
    })
    const response = await fetch(`${running.url}/api/v1/tasks/${taskId}/rounds/1/updates`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${honest}`, 'Content-Type': 'application/octet-stream' },
      body: body as Uint8Array<ArrayBuffer>,
    })
    expect(response.status).toBe(422)
    expect(await response.json()).toMatchObject({ type: 'rejected', field: 'metadata.baseModel' })
  })

  it('takes canonical integers only for round numbers in paths, naming the parameter', async () => {
    const token = await enrol()
    for (const round of [
      '1e0',
      '01',
      '+1',
      '1.0',
      '0x1',
      '%201',
      '0',
      '-1',
      '99999999999999999',
      '9007199254740993',
    ]) {
      const device = await fetch(`${running.url}/api/v1/tasks/${taskId}/rounds/${round}/updates`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
        body: new Uint8Array(8),
      })
      expect(await refusal(device), `upload to round ${round}`).toEqual({
        status: 400,
        code: 'invalid_request',
        field: 'round',
      })
      const secure = await fetch(`${running.url}/api/v1/tasks/${taskId}/rounds/${round}/secagg`, {
        headers: { Authorization: `Bearer ${token}` },
      })
      expect(await refusal(secure), `secagg of round ${round}`).toMatchObject({ field: 'round' })
      for (const path of ['devices', 'model'])
        expect(
          await refusal(
            await running.admin.call(`/api/v1/tasks/${taskId}/rounds/${round}/${path}`),
          ),
          `${path} of round ${round}`,
        ).toMatchObject({ status: 400, field: 'round' })
    }
    const events = await running.admin.call('/api/v1/events', {
      headers: { 'Last-Event-ID': '1e0' },
    })
    expect(await refusal(events)).toMatchObject({ status: 400, field: 'last-event-id' })
    // Written plainly, the same round is found.
    const plain = await running.admin.call(`/api/v1/tasks/${taskId}/rounds/1/devices`)
    expect(plain.status).toBe(200)
  })
})
