import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, weightSpec } from '../shared/models/index.ts'
import { PROTOCOL_VERSION, type Assignment } from '../shared/protocol/index.ts'
import {
  decodeContainer,
  encodeContainer,
  tensorSize,
  type NamedTensor,
} from '../shared/tensors/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { TASK_BODY_LIMIT } from '../server/api/admin.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

const clock = createVirtualClock(Date.now())
let spec: { name: string; shape: number[] }[] = []

const delta = (fill: (i: number) => number = (i) => ((i % 7) - 3) * 1e-3): NamedTensor[] =>
  spec.map(({ name, shape }) => ({
    name,
    shape,
    dtype: 'float32',
    data: Float32Array.from({ length: tensorSize(shape) }, (_, i) => fill(i)),
  }))

describe('bad input gets a clear error and loses nothing', () => {
  let running: Running
  let call: Running['admin']['call']
  beforeAll(async () => {
    running = await startCoordinator({ clock })
    call = running.admin.call
    spec = weightSpec(buildModel({ preset: 'mnist-2nn' }))
  })
  afterAll(() => running.close())

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    call(path, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', ...headers },
    })
  const errorOf = async (response: Response) => ({
    status: response.status,
    ...(
      (await response.json()) as {
        error: { code: string; message: string; issues?: { field: string }[] }
      }
    ).error,
  })
  const fields = (e: { issues?: { field: string }[] }) => e.issues?.map((i) => i.field)

  describe('admin API', () => {
    it('answers malformed JSON, wrong media type, unknown and invalid fields by name', async () => {
      expect(await errorOf(await post('/api/v1/tasks', '{"name": "x",'))).toMatchObject({
        status: 400,
        code: 'malformed_json',
      })
      expect(
        await errorOf(await post('/api/v1/tasks', '{}', { 'Content-Type': 'text/plain' })),
      ).toMatchObject({ status: 415, code: 'unsupported_media_type' })

      const unknown = await errorOf(
        await post(
          '/api/v1/tasks',
          JSON.stringify({ name: 'x', purpose: 'p', model: { preset: 'synet' }, colour: 'red' }),
        ),
      )
      expect(unknown).toMatchObject({ status: 400, code: 'invalid_request' })
      expect(fields(unknown)).toEqual(['colour'])

      const bad = await errorOf(
        await post(
          '/api/v1/tasks',
          // 1e999 parses as Infinity: a non-finite learning rate.
          '{"model":{"preset":"mlp9"},"train":{"learningRate":1e999,"batchSize":0},"rounds":{"clientsPerRound":"ten"}}',
        ),
      )
      expect(fields(bad)).toEqual(
        expect.arrayContaining([
          'name',
          'model.preset',
          'train.learningRate',
          'train.batchSize',
          'rounds.clientsPerRound',
        ]),
      )

      const inconsistent = await errorOf(
        await post(
          '/api/v1/tasks',
          JSON.stringify({
            name: 'x',
            purpose: 'p',
            model: { preset: 'mnist-2nn' },
            rounds: { clientsPerRound: 2, minReports: 3 },
          }),
        ),
      )
      expect(fields(inconsistent)).toEqual(['rounds.minReports'])

      const topology = await errorOf(
        await post(
          '/api/v1/tasks',
          JSON.stringify({
            name: 'x',
            purpose: 'p',
            model: { preset: 'custom', topology: { class_name: 'Nope' } },
          }),
        ),
      )
      expect(topology).toMatchObject({ status: 400, code: 'invalid_model' })

      // A task phones would be asked to join with no reason to weigh; a seed out of range.
      for (const purpose of [undefined, '', '   \n ']) {
        const refused = await errorOf(
          await post(
            '/api/v1/tasks',
            JSON.stringify({ name: 'x', purpose, model: { preset: 'mnist-2nn' } }),
          ),
        )
        expect(refused).toMatchObject({ status: 400, code: 'invalid_request' })
        expect(fields(refused)).toEqual(['purpose'])
      }
      // Raw JSON text: 1e999 parses as Infinity.
      for (const seed of ['-1', String(2 ** 32), '1.5', '"7"', '1e999']) {
        const refused = await errorOf(
          await post(
            '/api/v1/tasks',
            `{"name":"x","purpose":"p","model":{"preset":"mnist-2nn"},"seed":${seed}}`,
          ),
        )
        expect(refused, seed).toMatchObject({ status: 400, code: 'invalid_request' })
        expect(fields(refused)).toEqual(['seed'])
      }
      expect(fields(topology)).toEqual(['model.topology'])

      // Privacy settings: each wrong one named, and the combinations that would not protect.
      const privacy = await errorOf(
        await post(
          '/api/v1/tasks',
          '{"name":"x","purpose":"p","model":{"preset":"mnist-2nn"},"privacy":{"clipNorm":-1,"noiseMultiplier":"1",' +
            '"delta":0.5,"epsilonBudget":1e999,"mode":"local","salt":1},"secureAggregation":{"threshold":0.4}}',
        ),
      )
      expect(fields(privacy)).toEqual(
        expect.arrayContaining([
          'privacy.clipNorm',
          'privacy.noiseMultiplier',
          'privacy.delta',
          'privacy.epsilonBudget',
          'privacy.mode',
          'privacy.salt',
          'secureAggregation.threshold',
        ]),
      )
      const combinations = await errorOf(
        await post(
          '/api/v1/tasks',
          JSON.stringify({
            name: 'x',
            purpose: 'p',
            model: { preset: 'mnist-2nn' },
            privacy: { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10, mode: 'distributed' },
            aggregation: { weighting: 'examples' },
            rounds: { clientsPerRound: 2, overSelect: 1 },
            mode: 'async',
          }),
        ),
      )
      expect(fields(combinations)).toEqual(
        expect.arrayContaining(['privacy.mode', 'aggregation.weighting', 'mode']),
      )
      const tooFew = await errorOf(
        await post(
          '/api/v1/tasks',
          JSON.stringify({
            name: 'x',
            purpose: 'p',
            model: { preset: 'mnist-2nn' },
            secureAggregation: true,
            rounds: { clientsPerRound: 2, minReports: 2, overSelect: 1 },
          }),
        ),
      )
      expect(fields(tooFew)).toEqual(['rounds.clientsPerRound'])
      expect((await running.admin.call('/api/v1/tasks').then((r) => r.json())) as unknown).toEqual({
        tasks: [],
      })
    })

    it('refuses wrong tokens, unknown ids and oversized bodies', async () => {
      const noToken = await fetch(`${running.url}/api/v1/tasks`)
      expect(await errorOf(noToken)).toMatchObject({ status: 401, code: 'unauthorized' })
      const wrong = await fetch(`${running.url}/api/v1/tasks`, {
        headers: { Authorization: 'Bearer nope' },
      })
      expect(wrong.status).toBe(401)
      for (const [method, path] of [
        ['GET', '/api/v1/tasks/nope'],
        ['DELETE', '/api/v1/tasks/nope'],
        ['GET', '/api/v1/tasks/nope/rounds'],
        ['GET', '/api/v1/tasks/nope/model'],
      ] as const)
        expect(await errorOf(await call(path, { method }))).toMatchObject({
          status: 404,
          code: 'not_found',
        })
      const patchUnknown = await call('/api/v1/tasks/nope', {
        method: 'PATCH',
        body: '{"status":"paused"}',
      })
      expect(patchUnknown.status).toBe(404)
      const huge = await post(
        '/api/v1/devices',
        JSON.stringify({ protocolVersion: 1, label: 'x'.repeat(100_000) }),
      )
      expect(await errorOf(huge)).toMatchObject({ status: 413, code: 'payload_too_large' })
    })

    it('refuses a task body past its limit while reading it, and says the limit', async () => {
      const before = (await (await call('/api/v1/tasks')).json()) as { tasks: unknown[] }
      // Declared too large: refused before a byte of it is read.
      const declared = await errorOf(await post('/api/v1/tasks', 'x'.repeat(TASK_BODY_LIMIT + 1)))
      expect(declared).toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(declared.message).toBe('task bodies are at most 32 MiB (33554432 bytes)')

      // Sent in chunks with no length: refused once reading passes the limit, not at the end.
      const chunk = new TextEncoder().encode(`{"name":"x","purpose":"${'p'.repeat(1 << 20)}`)
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 4 * TASK_BODY_LIMIT) return controller.close()
          sent += chunk.length
          controller.enqueue(chunk)
        },
      })
      const streamed = await call('/api/v1/tasks', {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json' },
        duplex: 'half',
      } as RequestInit)
      expect(await errorOf(streamed)).toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(sent).toBeLessThan(2 * TASK_BODY_LIMIT)

      expect((await (await call('/api/v1/tasks')).json()) as object).toEqual(before)
    })

    it('stores hostile strings verbatim and serves them back as data', async () => {
      const name = `<script>alert(1)</script>'); drop table tasks;-- \u202e ☃`
      const created = await running.admin.createTask({
        name,
        purpose: '"${process.env}"',
        model: { preset: 'mnist-2nn' },
      })
      expect((await running.admin.task(created.id)).name).toBe(name)
      expect((await running.admin.task(created.id)).purpose).toBe('"${process.env}"')
      expect(
        (await errorOf(await call(`/api/v1/tasks/${created.id}`, { method: 'PATCH', body: '{}' })))
          .status,
      ).toBe(400)
      // A part naming no field would change nothing too: refused naming the part.
      for (const part of ['rounds', 'train', 'compression']) {
        const empty = await call(`/api/v1/tasks/${created.id}`, {
          method: 'PATCH',
          body: JSON.stringify({ [part]: {} }),
        })
        const refused = await errorOf(empty)
        expect(refused.status, part).toBe(400)
        expect(fields(refused), part).toEqual([part])
      }
      await call(`/api/v1/tasks/${created.id}`, { method: 'DELETE' })
    })
  })

  describe('device protocol', () => {
    let taskId: string
    let baseModel: string
    const devices: { token: string; assignment: Assignment }[] = []

    beforeAll(async () => {
      const task = await running.admin.createTask({
        name: 'uploads',
        purpose: 'Train a digit reader; only weight updates leave the phone.',
        model: { preset: 'mnist-2nn' },
        rounds: {
          total: 3,
          clientsPerRound: 20,
          minReports: 1,
          overSelect: 1,
          deadlineSeconds: 60,
        },
      })
      taskId = task.id
      baseModel = task.model.hash
      for (let i = 0; i < 16; i++) {
        const { token } = (await (
          await post('/api/v1/devices', `{"protocolVersion":${PROTOCOL_VERSION}}`)
        ).json()) as {
          token: string
        }
        const answer = (await (
          await post(
            '/api/v1/devices/checkin',
            JSON.stringify({
              protocolVersion: PROTOCOL_VERSION,
              capabilities: { backend: 'wasm' },
              datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
            }),
            { Authorization: `Bearer ${token}` },
          )
        ).json()) as Assignment
        expect(answer.type).toBe('assignment')
        devices.push({ token, assignment: answer })
      }
    })

    const upload = (
      i: number,
      body: Uint8Array,
      round = devices[i]!.assignment.round,
      task = taskId,
    ) =>
      fetch(`${running.url}/api/v1/tasks/${task}/rounds/${round}/updates`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${devices[i]!.token}`,
          'Content-Type': 'application/octet-stream',
        },
        body: body as Uint8Array<ArrayBuffer>,
      })
    const meta = () => ({ examples: 10, steps: 1, baseModel })
    const answerOf = async (r: Response) => ({ status: r.status, ...((await r.json()) as object) })

    it('answers check-ins with a wrong token, protocol version or dataset by name', async () => {
      const checkin = (body: object, token = devices[0]!.token) =>
        post('/api/v1/devices/checkin', JSON.stringify(body), { Authorization: `Bearer ${token}` })
      const good = {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm' },
        datasets: [],
      }
      expect((await checkin(good, 'forged')).status).toBe(401)
      const version = await errorOf(await checkin({ ...good, protocolVersion: 99 }))
      expect(version).toMatchObject({ status: 409, code: 'protocol_version' })
      const labels = await errorOf(
        await checkin({ ...good, datasets: [{ name: '../etc', examples: -1, labels: [NaN] }] }),
      )
      expect(fields(labels)).toEqual(
        expect.arrayContaining(['datasets.0.name', 'datasets.0.examples', 'datasets.0.labels.0']),
      )
    })

    it('rejects every malformed update with the field at fault, and counts it', async () => {
      const wrongShape = delta()
      wrongShape[0] = { ...wrongShape[0]!, shape: [392, 400] }
      const wrongName = delta()
      wrongName[1] = { ...wrongName[1]!, name: 'fc1/evil' }
      const withNaN = delta((i) => (i === 12345 ? NaN : 0))
      const withInf = delta((i) => (i === 5 ? -Infinity : 0))
      const unknownCodec = encodeContainer({ tensors: delta(), metadata: meta() })
      const headerText = new TextDecoder()
        .decode(unknownCodec.subarray(12, 400))
        .replace('"float32"', '"int8___"')
      unknownCodec.set(new TextEncoder().encode(headerText), 12)

      const cases: [Uint8Array, number, string][] = [
        [encodeContainer({ tensors: delta().slice(1), metadata: meta() }), 422, 'tensors'],
        [encodeContainer({ tensors: wrongShape, metadata: meta() }), 422, 'tensors[0].shape'],
        [encodeContainer({ tensors: wrongName, metadata: meta() }), 422, 'tensors[1].name'],
        [unknownCodec, 422, 'codec'],
        [encodeContainer({ tensors: withNaN, metadata: meta() }), 422, 'tensors'],
        [encodeContainer({ tensors: withInf, metadata: meta() }), 422, 'tensors'],
        [
          new Uint8Array(spec.reduce((n, s) => n + tensorSize(s.shape), 0) * 4 + 64 * 1024 + 1),
          413,
          'body',
        ],
        [new TextEncoder().encode('definitely not a container'), 422, 'body'],
        [
          encodeContainer({ tensors: delta(), metadata: { ...meta(), baseModel: 'f'.repeat(64) } }),
          422,
          'metadata.baseModel',
        ],
        [
          encodeContainer({ tensors: delta(), metadata: { steps: 1, baseModel } }),
          422,
          'metadata.examples',
        ],
      ]
      for (const [i, [body, status, field]] of cases.entries()) {
        const answer = await answerOf(await upload(i, body))
        expect(answer, `case ${i}: ${field}`).toMatchObject({ status, type: 'rejected', field })
      }
      // A rejected device has had its say for this round.
      expect(
        await answerOf(await upload(0, encodeContainer({ tensors: delta(), metadata: meta() }))),
      ).toMatchObject({
        status: 409,
        type: 'duplicate',
      })
      expect((await running.admin.rounds(taskId))[0]).toMatchObject({
        rejected: cases.length,
        reported: 0,
      })
    })

    it('leaves no trace of a body cut off mid-upload', async () => {
      const body = encodeContainer({ tensors: delta(), metadata: meta() })
      const { port } = new URL(running.url)
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `POST /api/v1/tasks/${taskId}/rounds/1/updates HTTP/1.1\r\nHost: x\r\n` +
              `Authorization: Bearer ${devices[10]!.token}\r\nContent-Type: application/octet-stream\r\n` +
              `Content-Length: ${body.length}\r\n\r\n`,
          )
          socket.write(body.subarray(0, body.length >> 1), () =>
            setTimeout(() => socket.destroy(), 100),
          )
        })
        socket.on('close', () => resolve())
        socket.on('error', reject)
      })
      await new Promise((r) => setTimeout(r, 300))
      const round = (await running.admin.rounds(taskId))[0]!
      expect(round).toMatchObject({ reported: 0, rejected: 10, late: 0 })
      // The same device then uploads whole, and is accepted.
      expect(await answerOf(await upload(10, body))).toMatchObject({
        status: 200,
        type: 'accepted',
        reported: 1,
      })
    })

    it('tells duplicate, unknown-round and late uploads apart, and aggregates only the good update', async () => {
      const good = encodeContainer({ tensors: delta(), metadata: meta() })
      expect(await answerOf(await upload(10, good))).toMatchObject({
        status: 409,
        type: 'duplicate',
      })
      expect(await answerOf(await upload(11, good, 99))).toMatchObject({
        status: 404,
        type: 'unknown-round',
      })
      expect(await answerOf(await upload(11, good, 1, 'no-such-task'))).toMatchObject({
        status: 404,
        type: 'unknown-round',
      })
      expect((await upload(11, good, 0)).status).toBe(400)

      clock.advance(60_000)
      const [round] = await waitFor(async () => {
        const r = await running.admin.rounds(taskId)
        return r[0]?.status === 'committed' ? r : undefined
      })
      expect(round).toMatchObject({ reported: 1, rejected: 10, dropped: 5, examples: 10 })
      expect(await answerOf(await upload(12, good))).toMatchObject({
        status: 410,
        type: 'late',
        round: 1,
      })
      expect(await answerOf(await upload(12, good))).toMatchObject({
        status: 409,
        type: 'duplicate',
      })
      expect((await running.admin.rounds(taskId))[0]).toMatchObject({ late: 1 })

      // The new model is exactly base + the one good delta: nothing rejected leaked in.
      const fetchModel = async (hash: string) =>
        decodeContainer(
          new Uint8Array(
            await (
              await fetch(`${running.url}/api/v1/models/${hash}`, {
                headers: { Authorization: `Bearer ${devices[12]!.token}` },
              })
            ).arrayBuffer(),
          ),
        ).tensors
      const [before, after] = await Promise.all([fetchModel(baseModel), fetchModel(round!.model!)])
      const d = delta()
      for (const [t, tensor] of after.entries())
        for (const k of [0, 1, 777, tensor.data.length - 1].filter((k) => k < tensor.data.length))
          expect(tensor.data[k]).toBeCloseTo(before[t]!.data[k]! + d[t]!.data[k]!, 6)
    })
  })
})
