// Secure aggregation over real HTTP: devices run SecAgg+ through the coordinator while they
// train; the coordinator learns only the sum of the survivors' updates, unmasks it without the
// devices that dropped after sharing, and abandons a round it cannot unmask.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION } from '../shared/protocol/index.ts'
import { type Running, startCoordinator, waitFor } from './harness.ts'
import { distanceFromMean, mnist2nnShapes, secureDevices } from './secure-devices.ts'

let SHAPES: ReturnType<typeof mnist2nnShapes> = []

describe('secure aggregation over HTTP', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
    SHAPES = mnist2nnShapes()
  })
  afterAll(() => running.close())

  /** `values.length` devices join one round; those in `drop` vanish after sharing. */
  async function round(taskId: string, values: number[], drop: Set<number>) {
    const { devices, events } = await secureDevices({
      server: running.url,
      shapes: () => SHAPES,
      values,
      drop,
    })
    const assignments = await Promise.all(devices.map((d) => d.checkin()))
    for (const a of assignments) expect(a.type).toBe('assignment')
    await Promise.all(devices.map((d, i) => d.work(assignments[i] as Parameters<typeof d.work>[0])))
    const [closed] = await waitFor(async () => {
      const rounds = await running.admin.rounds(taskId)
      return rounds[0]?.status !== 'open' ? rounds : undefined
    }, 60_000)
    return { closed: closed!, events }
  }

  it('commits the mean of the survivors’ updates, unmasked without the ones that dropped', async () => {
    const task = await running.admin.createTask({
      name: 'secure',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      secureAggregation: true,
      // Six selected, the round closes on five reports (one drops after sharing).
      rounds: { total: 1, clientsPerRound: 5, minReports: 3, overSelect: 1.2, deadlineSeconds: 60 },
    })
    expect(task.aggregation.weighting).toBe('uniform')
    const values = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006]
    const { closed, events } = await round(task.id, values, new Set([5]))
    expect(closed).toMatchObject({ status: 'committed', reported: 5 })
    // Every survivor heard that its round was unmasked; the dropped one uploaded nothing.
    for (const i of [0, 1, 2, 3, 4])
      expect(events[i]!.find((e) => e.type === 'secure')).toMatchObject({ outcome: 'done' })
    expect(events[5]!.some((e) => e.type === 'uploaded')).toBe(false)

    const mean = (0.001 + 0.002 + 0.003 + 0.004 + 0.005) / 5
    const worst = await distanceFromMean(running.admin.call, closed, mean)
    expect(worst).toBeLessThan(1e-6)
  }, 90_000)

  it('abandons a round whose dropped devices cannot be unmasked, and keeps the model', async () => {
    const task = await running.admin.createTask({
      name: 'secure, too few',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      secureAggregation: { threshold: 0.75 },
      rounds: { total: 1, clientsPerRound: 5, minReports: 2, overSelect: 1, deadlineSeconds: 12 },
    })
    // 5 devices, each with 4 neighbours, need 3 of them to rebuild a secret: 2 survivors cannot.
    const { closed } = await round(task.id, [0.1, 0.2, 0.3, 0.4, 0.5], new Set([2, 3, 4]))
    expect(closed).toMatchObject({ status: 'abandoned', model: null })
    expect((await running.admin.task(task.id)).model.hash).toBe(task.model.hash)
  }, 90_000)

  it('answers bad secure-aggregation messages with the field at fault', async () => {
    const task = await running.admin.createTask({
      name: 'secure, bad input',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      secureAggregation: true,
      rounds: { total: 1, clientsPerRound: 3, minReports: 2, overSelect: 1, deadlineSeconds: 60 },
    })
    const enrol = async () => {
      const response = await fetch(`${running.url}/api/v1/devices`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
      })
      const { token } = (await response.json()) as { token: string }
      return { Authorization: `Bearer ${token}` }
    }
    const [chosen, outsider] = [await enrol(), await enrol()]
    const checkin = await fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { ...chosen, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
        consents: [task.id],
      }),
    })
    const assignment = (await checkin.json()) as { secureAggregation: { url: string } }
    const url = `${running.url}${assignment.secureAggregation.url}`
    const post = (path: string, headers: Record<string, string>, body: string) =>
      fetch(`${url}/${path}`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body,
      })
    const field = async (response: Response) =>
      ((await response.json()) as { error: { issues?: { field: string }[] } }).error.issues?.[0]
        ?.field

    let response = await post('keys', chosen, '{"encryptionKey": ')
    expect(response.status).toBe(400)
    response = await post('keys', chosen, JSON.stringify({ encryptionKey: 'A', maskKey: '$$' }))
    expect(response.status).toBe(400)
    expect(await field(response)).toBe('maskKey')
    response = await post(
      'keys',
      chosen,
      JSON.stringify({ encryptionKey: 'AAAA', maskKey: 'AAAA' }),
    )
    expect(response.status).toBe(422)
    expect(await field(response)).toMatch(/Key/)
    // A device the round did not select may not take part.
    response = await post(
      'keys',
      outsider,
      JSON.stringify({ encryptionKey: 'AAAA', maskKey: 'AAAA' }),
    )
    expect(response.status).toBe(409)
    // Sharing before the round's participants are fixed is the wrong stage.
    response = await post('shares', chosen, JSON.stringify({ shares: [] }))
    expect(response.status).toBe(409)
    response = await post('shares', chosen, 'x'.repeat(300 * 1024))
    expect(response.status).toBe(413)
    const view = await fetch(url.replace(/rounds\/\d+/, 'rounds/99'), { headers: chosen })
    expect(view.status).toBe(404)
    expect(await field(view)).toBe('round')
    // The socket the 413 closed may be the one reused first: try once more on a fresh one.
    const remove = () => running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
    expect((await remove().catch(remove)).status).toBe(204)
  })
})
