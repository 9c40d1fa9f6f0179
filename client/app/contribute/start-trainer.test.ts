import { describe, expect, it } from 'vitest'
import { STORES } from '../storage/index.ts'
import { startTrainer } from './start-trainer.ts'
import type { AppTrainer } from './state.ts'
import { freshDb } from './testing.ts'

describe('starting the trainer', () => {
  it('starts it on its backend, measures its speed there once, and keeps it', async () => {
    const db = await freshDb()
    let measured = 0
    const made: AppTrainer = {
      train: () => Promise.reject(new Error('not here')),
      init: () => Promise.resolve({ backend: 'wasm', simd: true, threads: 1 }),
      measureSpeed: () => Promise.resolve({ examplesPerSecond: 100 + ++measured }),
    }
    const options = { make: () => Promise.resolve(made), db, now: () => 1, userAgent: 'Chrome/1' }
    expect(await startTrainer(options)).toEqual({ made, backend: 'wasm', speed: 101 })
    expect(await db.get(STORES.speed, 'wasm')).toMatchObject({ examplesPerSecond: 101 })
    // The next start (a reload) takes the stored speed: no benchmark.
    expect((await startTrainer(options)).speed).toBe(101)
    expect(measured).toBe(1)
    db.close()
  })

  it('takes the CPU backend, speed unknown, for a trainer that says nothing', async () => {
    const db = await freshDb()
    const made: AppTrainer = { train: () => Promise.reject(new Error('not here')) }
    const started = await startTrainer({ make: () => Promise.resolve(made), db })
    expect(started).toEqual({ made, backend: 'cpu', speed: undefined })
    db.close()
  })
})
