// What the dashboard reads about a round: bytes up and down, who took part by backend and speed
// tier, and each selected device's way through the round — over real HTTP, from real devices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevice, localTrainer } from '../client/device/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { type Digits, subset } from '../shared/data/index.ts'
import type { Backend, RoundDeviceView } from '../shared/protocol/index.ts'
import { type Running, startCoordinator, waitFor } from './harness.ts'

describe('round detail', () => {
  let running: Running
  let digits: Digits
  beforeAll(async () => {
    running = await startCoordinator()
    digits = subset(
      (await loadMnist()).train,
      Array.from({ length: 300 }, (_, i) => i),
    )
  })
  afterAll(() => running.close())

  it('counts bytes and participation, and lists each device’s timeline', async () => {
    const task = await running.admin.createTask({
      name: 'round detail',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 1, clientsPerRound: 3, minReports: 3, overSelect: 1, deadlineSeconds: 60 },
    })
    const trainer = localTrainer()
    const phones: { backend: Backend; examplesPerSecond?: number; count: number }[] = [
      { backend: 'webgpu', examplesPerSecond: 900, count: 100 },
      { backend: 'wasm', examplesPerSecond: 150, count: 120 },
      { backend: 'wasm', count: 80 },
    ]
    const uploaded: number[] = []
    let from = 0
    await Promise.all(
      phones.map(async ({ backend, examplesPerSecond, count }, i) => {
        const examples = subset(
          digits,
          Array.from({ length: count }, (_, k) => from + k),
        )
        from += count
        const device = createDevice({
          server: running.url,
          trainer,
          examples,
          backend,
          label: `phone ${i}`,
          ...(examplesPerSecond ? { examplesPerSecond } : {}),
          onEvent: (e) => {
            if (e.type === 'uploaded') uploaded.push(e.bytes)
          },
        })
        await device.enrol()
        const answer = await device.checkin()
        if (answer.type !== 'assignment') throw new Error(`not selected: ${answer.type}`)
        await device.work(answer)
      }),
    )
    const [round] = await waitFor(async () => {
      const rounds = await running.admin.rounds(task.id)
      return rounds[0]?.status === 'committed' ? rounds : undefined
    })
    const model = await running.admin.call(`/api/v1/models/${task.model.hash}`)
    const modelBytes = (await model.arrayBuffer()).byteLength
    expect(round).toMatchObject({
      reported: 3,
      examples: 300,
      bytesUp: uploaded.reduce((a, b) => a + b, 0),
      bytesDown: 3 * modelBytes,
      participation: {
        byBackend: {
          webgpu: { devices: 1, examples: 100 },
          wasm: { devices: 2, examples: 200 },
          cpu: { devices: 0, examples: 0 },
        },
        byTier: {
          fast: { devices: 1, examples: 100 },
          medium: { devices: 1, examples: 120 },
          slow: { devices: 0, examples: 0 },
          unknown: { devices: 1, examples: 80 },
        },
      },
    })

    const response = await running.admin.call(`/api/v1/tasks/${task.id}/rounds/1/devices`)
    expect(response.status).toBe(200)
    const { devices } = (await response.json()) as { devices: RoundDeviceView[] }
    expect(devices.map((d) => d.label).sort()).toEqual(['phone 0', 'phone 1', 'phone 2'])
    for (const d of devices) {
      expect(d.state).toBe('reported')
      const [assigned, downloaded, answered] = [d.assignedAt, d.downloadedAt!, d.answeredAt!].map(
        Date.parse,
      )
      expect(downloaded).toBeGreaterThanOrEqual(assigned!)
      expect(answered).toBeGreaterThanOrEqual(downloaded!)
      expect(d.bytesUp).toBeGreaterThan(modelBytes * 0.9)
    }
    expect(devices.find((d) => d.label === 'phone 0')).toMatchObject({
      backend: 'webgpu',
      tier: 'fast',
      examples: 100,
    })

    // A round that does not exist, or is not a number, says which.
    for (const [path, status] of [
      [`/api/v1/tasks/${task.id}/rounds/2/devices`, 404],
      [`/api/v1/tasks/${task.id}/rounds/x/devices`, 400],
      ['/api/v1/tasks/nope/rounds/1/devices', 404],
    ] as const) {
      const answer = await running.admin.call(path)
      expect(answer.status, path).toBe(status)
      const body = (await answer.json()) as { error: { issues: { field: string }[] } }
      expect(body.error.issues[0]?.field).toMatch(/^(round|id)$/)
    }
  })
})
