import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel, weightSpec } from '../shared/models/index.ts'
import { PROTOCOL_VERSION, type Assignment, type CheckinAnswer } from '../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../shared/tensors/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

describe('selection', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  const json = (body: object, token?: string) => ({
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  })

  it('over-selects 1.3× under concurrent check-ins, closes at clientsPerRound reports, and tells the rest they were late', async () => {
    const task = await running.admin.createTask({
      name: 'over-selection',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 1, clientsPerRound: 10, minReports: 10, deadlineSeconds: 600 },
    })
    const tokens = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const r = await fetch(
          `${running.url}/api/v1/devices`,
          json({ protocolVersion: PROTOCOL_VERSION }),
        )
        return ((await r.json()) as { token: string }).token
      }),
    )
    const answers = await Promise.all(
      tokens.map(async (token) => {
        const r = await fetch(
          `${running.url}/api/v1/devices/checkin`,
          json(
            {
              protocolVersion: PROTOCOL_VERSION,
              capabilities: { backend: 'wasm' },
              datasets: [{ name: 'mnist', examples: 5, labels: [5] }],
            },
            token,
          ),
        )
        return { token, answer: (await r.json()) as CheckinAnswer }
      }),
    )
    const selected = answers.filter((a) => a.answer.type === 'assignment')
    expect(selected).toHaveLength(13)
    const refused = answers.filter((a) => a.answer.type === 'retry')
    expect(refused).toHaveLength(7)
    for (const { answer } of refused)
      expect(answer).toMatchObject({ retryAfterSeconds: expect.any(Number) as number })

    const spec = weightSpec(buildModel({ preset: 'mnist-2nn' }))
    const body = encodeContainer({
      tensors: spec.map(({ name, shape }) => ({
        name,
        shape,
        dtype: 'float32' as const,
        data: new Float32Array(tensorSize(shape)),
      })),
      metadata: { examples: 5, steps: 1, baseModel: task.model.hash },
    })
    const upload = async ({ token, answer }: (typeof selected)[number]) => {
      const r = await fetch(`${running.url}${(answer as Assignment).uploadUrl}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
        body: body as Uint8Array<ArrayBuffer>,
      })
      return { status: r.status, ...((await r.json()) as { type: string }) }
    }
    const first = await Promise.all(selected.slice(0, 10).map(upload))
    expect(first.map((a) => a.type)).toEqual(Array(10).fill('accepted'))
    const [round] = await waitFor(async () => {
      const r = await running.admin.rounds(task.id)
      return r[0]?.status === 'committed' ? r : undefined
    })
    expect(round).toMatchObject({ selected: 13, reported: 10, dropped: 3, examples: 50 })
    const rest = await Promise.all(selected.slice(10).map(upload))
    expect(rest).toEqual(
      Array(3).fill({ status: 410, type: 'late', round: 1, message: expect.any(String) as string }),
    )
    expect((await running.admin.rounds(task.id))[0]).toMatchObject({ late: 3 })
    expect((await running.admin.task(task.id)).status).toBe('completed')
  })
})
