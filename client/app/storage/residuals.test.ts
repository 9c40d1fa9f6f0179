import { describe, expect, it } from 'vitest'
import { DB_VERSION, STORES } from './index.ts'
import { idbResiduals } from './residuals.ts'
import { testDatabases } from './testing.ts'

const { open, name: dbName } = testDatabases('pollen-residuals')

const kept = (round: number, value: number) => ({
  round,
  tensors: [
    { name: 'w', shape: [2, 2], dtype: 'float32' as const, data: new Float32Array(4).fill(value) },
  ],
})

describe('the residual store', () => {
  it('keeps one residual per task, the latest, across a reopened database', async () => {
    const name = dbName()
    const db = await open(name)
    const store = idbResiduals(db, () => 9)
    expect(await store.get('t1')).toBeUndefined()
    await store.put('t1', kept(3, 0.5))
    await store.put('t2', kept(1, 2))
    await store.put('t1', kept(4, -0.25))
    db.close()
    const again = idbResiduals(await open(name))
    const back = await again.get('t1')
    expect(back?.round).toBe(4)
    expect(back?.tensors[0]?.name).toBe('w')
    expect(back?.tensors[0]?.data).toBeInstanceOf(Float32Array)
    expect(Array.from(back!.tensors[0]!.data)).toEqual([-0.25, -0.25, -0.25, -0.25])
    expect((await again.get('t2'))?.round).toBe(1)
  })

  it('is added to a version 5 database, which keeps what it held', async () => {
    const name = dbName('upgrade')
    const old = await open(name, 5)
    expect([...old.objectStoreNames]).not.toContain(STORES.residuals)
    await old.put(STORES.settings, { key: 'device', deviceId: 'd1', token: 't', enrolledAt: 5 })
    old.close()
    const db = await open(name)
    expect(db.version).toBe(DB_VERSION)
    expect(await db.get(STORES.settings, 'device')).toMatchObject({ deviceId: 'd1' })
    await idbResiduals(db, () => 1).put('t', kept(1, 1))
    expect(await db.get(STORES.residuals, 't')).toMatchObject({ taskId: 't', round: 1, savedAt: 1 })
  })
})
