import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, type DatasetSummary } from '../shared/protocol/index.ts'
import { ACTIVE_WINDOW_MS } from '../server/devices/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { startCoordinator, type Running } from './harness.ts'

// Enrolment is open and phones come and go: counts of devices that are long gone mislead the
// data scientist and, for a private task, would understate ε.
describe('active devices, apart from enrolled ones', () => {
  const clock = createVirtualClock()
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator({ clock })
  })
  afterAll(() => running.close())

  async function enrolAndCheckIn(examples: number) {
    const enrolled = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    const { token } = (await enrolled.json()) as { token: string }
    const auth = { Authorization: `Bearer ${token}` }
    const checkin = await fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples, labels: [examples] }],
      }),
    })
    expect(checkin.status).toBe(200)
    return auth
  }
  const datasets = async () =>
    (
      (await (await running.admin.call('/api/v1/datasets')).json()) as {
        datasets: DatasetSummary[]
      }
    ).datasets
  const zeros = new Array<number>(9).fill(0)
  const gauge = async (state: string) => {
    const text = await (await fetch(`${running.url}/metrics`)).text()
    return Number(text.match(new RegExp(`^pollen_devices\\{state="${state}"\\} (\\d+)$`, 'm'))?.[1])
  }

  it('counts devices seen within the window as active, and a request brings one back', async () => {
    const early = await Promise.all([enrolAndCheckIn(10), enrolAndCheckIn(20), enrolAndCheckIn(30)])
    // mnist is declared: one count per class of its ten.
    expect(await datasets()).toMatchObject([
      { name: 'mnist', devices: { active: 3, enrolled: 3 }, examples: 60, labels: [60, ...zeros] },
    ])

    clock.advance(ACTIVE_WINDOW_MS + 60_000)
    await enrolAndCheckIn(5)
    expect(await datasets()).toMatchObject([
      { name: 'mnist', devices: { active: 1, enrolled: 4 }, examples: 5, labels: [5, ...zeros] },
    ])
    expect([await gauge('active'), await gauge('enrolled')]).toEqual([1, 4])

    // A private task samples from the active devices, and says so.
    const task = await running.admin.createTask({
      name: 'private',
      purpose: 'Count what a private task samples from.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 1, minReports: 1, overSelect: 1 },
      privacy: { clipNorm: 1, noiseMultiplier: 5, epsilonBudget: 1e6 },
    })
    expect(task.samplingPopulation).toEqual({ devices: 1, counted: 'active' })

    // Any request a device authenticates counts as seeing it.
    const listed = await fetch(`${running.url}/api/v1/devices/tasks`, { headers: early[0] })
    expect(listed.status).toBe(200)
    expect((await datasets())[0]!.devices).toEqual({ active: 2, enrolled: 4 })
  })
})
