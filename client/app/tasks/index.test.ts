import { afterEach, describe, expect, it } from 'vitest'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { openPollenDB, type PollenDatabase } from '../storage/index.ts'
import { createConsentStore, NO_CONDITIONS, unmetConditions, watchConditions } from './index.ts'
import { deviceState, networkUnmetered } from './conditions.ts'

const task = (id: string, purpose = 'read digits'): DeviceTaskView => ({
  id,
  name: `task ${id}`,
  purpose,
  status: 'running',
  dataset: 'mnist',
  model: { preset: 'mnist-2nn', parameters: 199_210 },
  updateBytes: 796_840,
  rounds: { total: 3, committed: 0, deadlineSeconds: 120 },
  privacy: { differentialPrivacy: null, secureAggregation: false },
})

let opened: PollenDatabase[] = []
let n = 0
async function fresh(): Promise<PollenDatabase> {
  const db = await openPollenDB({ name: `pollen-tasks-test-${n++}` })
  opened.push(db)
  return db
}
afterEach(() => {
  for (const db of opened) db.close()
  opened = []
})

describe('the consent store', () => {
  it('joins with the purpose agreed to, pauses, resumes, and withdrawing deletes', async () => {
    const db = await fresh()
    let clock = 100
    const consents = createConsentStore({ db, now: () => clock })
    let changes = 0
    consents.subscribe(() => changes++)
    await consents.join(task('a', 'why <b>a</b>'))
    await consents.join(task('b'))
    expect(await consents.get('a')).toEqual({
      taskId: 'a',
      taskName: 'task a',
      dataset: 'mnist',
      purpose: 'why <b>a</b>',
      state: 'granted',
      conditions: NO_CONDITIONS,
      decidedAt: 100,
    })
    clock = 200
    await consents.pause('a')
    expect((await consents.granted()).map((c) => c.taskId)).toEqual(['b'])
    await consents.resume('a')
    expect((await consents.get('a'))?.decidedAt).toBe(200)
    const conditions = { ...NO_CONDITIONS, onlyWhileCharging: true }
    await consents.setConditions('a', conditions)
    // Joining again (a changed purpose) keeps the conditions set.
    await consents.join(task('a', 'a new purpose'))
    expect(await consents.get('a')).toMatchObject({ purpose: 'a new purpose', conditions })
    await consents.withdraw('a')
    expect(await consents.get('a')).toBeUndefined()
    expect((await consents.granted()).map((c) => c.taskId)).toEqual(['b'])
    expect(await consents.pause('a')).toBeUndefined()
    expect(changes).toBe(7)
  })
})

describe('conditions', () => {
  const all = { onlyWhileCharging: true, onlyOnUnmeteredNetwork: true, onlyWhileVisible: true }

  it('hold when the signals say so, and skip a signal the browser lacks', () => {
    expect(unmetConditions(all, { charging: true, unmetered: true, visible: true })).toEqual([])
    expect(unmetConditions(all, { charging: false, unmetered: false, visible: false })).toEqual([
      'the phone is not charging',
      'the network may be metered',
      'Pollen is not on screen',
    ])
    expect(unmetConditions(all, { charging: null, unmetered: null, visible: true })).toEqual([])
    expect(
      unmetConditions(NO_CONDITIONS, { charging: false, unmetered: false, visible: false }),
    ).toEqual([])
  })

  it('read the network type where there is one', () => {
    const connection = (type?: string, saveData = false) =>
      Object.assign(new EventTarget(), { type, saveData })
    expect(networkUnmetered(undefined)).toBeNull()
    expect(networkUnmetered(connection())).toBeNull()
    expect(networkUnmetered(connection('wifi'))).toBe(true)
    expect(networkUnmetered(connection('ethernet'))).toBe(true)
    expect(networkUnmetered(connection('cellular'))).toBe(false)
    expect(networkUnmetered(connection('wifi', true))).toBe(false)
    expect(networkUnmetered(connection('unknown'))).toBeNull()
  })

  it("tells the coordinator what the phone is doing, saying nothing the browser doesn't say", () => {
    expect(deviceState({ charging: true, unmetered: true, visible: true }, 4)).toEqual({
      charging: true,
      network: 'unmetered',
      memoryMB: 4096,
    })
    expect(deviceState({ charging: false, unmetered: false, visible: true }, 0)).toEqual({
      charging: false,
      network: 'metered',
    })
    // By default, what this browser says (Chromium: deviceMemory, in GB).
    const memory = (navigator as { deviceMemory?: number }).deviceMemory
    expect(deviceState({ charging: null, unmetered: null, visible: true }).memoryMB).toBe(
      memory ? memory * 1024 : undefined,
    )
    expect(deviceState({ charging: null, unmetered: null, visible: false }, 0)).toEqual({
      network: 'unknown',
    })
  })

  it('watch battery, network and visibility, and call back on changes', async () => {
    const battery = Object.assign(new EventTarget(), { charging: false })
    const connection = Object.assign(new EventTarget(), { type: 'cellular' })
    const document = Object.assign(new EventTarget(), { visibilityState: 'visible' })
    const source = await watchConditions({
      navigator: { getBattery: () => Promise.resolve(battery), connection } as never,
      document: document as never,
    })
    expect(source.read()).toEqual({ charging: false, unmetered: false, visible: true })
    let calls = 0
    const stop = source.subscribe(() => calls++)
    battery.charging = true
    battery.dispatchEvent(new Event('chargingchange'))
    connection.type = 'wifi'
    connection.dispatchEvent(new Event('change'))
    document.visibilityState = 'hidden'
    document.dispatchEvent(new Event('visibilitychange'))
    expect(calls).toBe(3)
    expect(source.read()).toEqual({ charging: true, unmetered: true, visible: false })
    stop()
    battery.dispatchEvent(new Event('chargingchange'))
    expect(calls).toBe(3)

    const bare = await watchConditions({ navigator: {} as never, document: document as never })
    expect(bare.read()).toEqual({ charging: null, unmetered: null, visible: false })
  })
})
