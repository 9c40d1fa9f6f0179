import { describe, expect, it } from 'vitest'
import { DB_VERSION, loadSpeed, saveSpeed, type SpeedRecord, STORES } from './index.ts'
import { testDatabases } from './testing.ts'

const { open, name: dbName } = testDatabases('pollen-speed')

const record = (backend: SpeedRecord['backend'], examplesPerSecond: number): SpeedRecord => ({
  backend,
  variant: `${backend} simd`,
  model: '{"preset":"synet"}',
  examplesPerSecond,
  measuredAt: 1,
})

describe('the speed store', () => {
  it('keeps one measurement per backend, the latest', async () => {
    const db = await open()
    expect(await loadSpeed(db, 'wasm')).toBeUndefined()
    await saveSpeed(db, record('wasm', 230))
    await saveSpeed(db, record('webgpu', 900))
    await saveSpeed(db, record('wasm', 210))
    expect(await loadSpeed(db, 'wasm')).toEqual(record('wasm', 210))
    expect(await loadSpeed(db, 'webgpu')).toEqual(record('webgpu', 900))
    expect(await loadSpeed(db, 'cpu')).toBeUndefined()
  })

  it('is added to a version 2 database, which keeps what it held', async () => {
    expect(DB_VERSION).toBeGreaterThan(2)
    const name = dbName('upgrade')
    const old = await open(name, 2)
    expect([...old.objectStoreNames]).not.toContain(STORES.speed)
    await old.put(STORES.settings, { key: 'device', deviceId: 'd1', token: 't', enrolledAt: 5 })
    old.close()
    const db = await open(name)
    expect(db.version).toBe(DB_VERSION)
    expect([...db.objectStoreNames].sort()).toEqual(Object.values(STORES).sort())
    expect(await db.get(STORES.settings, 'device')).toMatchObject({ deviceId: 'd1' })
    await saveSpeed(db, record('wasm', 230))
    expect((await loadSpeed(db, 'wasm'))?.examplesPerSecond).toBe(230)
  })
})
