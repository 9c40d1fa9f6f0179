import { describe, expect, it } from 'vitest'
import { SPEED_MODEL as CORE_SPEED_MODEL } from '../../../shared/training/index.ts'
import type { Backend } from '../../../shared/protocol/index.ts'
import type { SpeedRecord } from '../storage/index.ts'
import {
  measuredSpeed,
  type MeasuredSpeedOptions,
  SPEED_MAX_AGE_MS,
  SPEED_MODEL,
  speedProbe,
} from './speed.ts'

const CHROME = 'Mozilla/5.0 Chrome/140.0.0.0'
const wasm = speedProbe({ backend: 'wasm', simd: true, threads: 1 }, CHROME)

/** measuredSpeed over an in-memory store, counting the benchmarks it ran. */
function harness(
  stored: SpeedRecord[] = [],
  answer: () => Promise<number> = () => Promise.resolve(230),
) {
  const store = new Map<Backend, SpeedRecord>(stored.map((r) => [r.backend, r]))
  let runs = 0
  const options: Omit<MeasuredSpeedOptions, 'probe' | 'now'> = {
    load: (backend) => Promise.resolve(store.get(backend)),
    save: (record) => Promise.resolve(void store.set(record.backend, record)),
    measure: async () => {
      runs++
      return { examplesPerSecond: await answer() }
    },
  }
  return {
    store,
    runs: () => runs,
    speed: (probe = wasm, now = 1000, more: Partial<MeasuredSpeedOptions> = {}) =>
      measuredSpeed({ ...options, probe, now, ...more }),
  }
}

describe('speedProbe', () => {
  it("tells wasm's SIMD and threads apart, and the browser, and the model", () => {
    expect(wasm).toEqual({
      backend: 'wasm',
      variant: `wasm simd=true threads=1 ${CHROME}`,
      model: '{"preset":"synet"}',
    })
    expect(speedProbe({ backend: 'webgpu', simd: false, threads: 1 }, CHROME).variant).toBe(
      `webgpu ${CHROME}`,
    )
    expect(speedProbe({ backend: 'wasm' }, CHROME).variant).toBe(
      `wasm simd=false threads=1 ${CHROME}`,
    )
  })

  it('times the model the training core names', () => {
    expect(SPEED_MODEL).toEqual(CORE_SPEED_MODEL)
  })
})

describe('measuredSpeed', () => {
  it('measures once, then answers from the store', async () => {
    const h = harness()
    expect(await h.speed()).toBe(230)
    expect(h.store.get('wasm')).toEqual({ ...wasm, examplesPerSecond: 230, measuredAt: 1000 })
    expect(await h.speed(wasm, 5000)).toBe(230)
    expect(h.runs()).toBe(1)
  })

  it('measures again on another backend, wasm built otherwise, another browser or model', async () => {
    const h = harness()
    await h.speed()
    const others = [
      speedProbe({ backend: 'webgpu' }, CHROME),
      speedProbe({ backend: 'wasm', simd: true, threads: 2 }, CHROME),
      speedProbe({ backend: 'wasm', simd: true, threads: 1 }, 'Mozilla/5.0 Chrome/141.0.0.0'),
      speedProbe({ backend: 'wasm', simd: true, threads: 1 }, CHROME, { preset: 'mnist-cnn' }),
    ]
    for (const probe of others) await h.speed(probe)
    expect(h.runs()).toBe(1 + others.length)
    // Each backend keeps its own: back on webgpu, nothing to measure.
    expect(await h.speed(others[0])).toBe(230)
    expect(h.runs()).toBe(1 + others.length)
  })

  it('measures again a month on', async () => {
    const h = harness()
    await h.speed(wasm, 0)
    await h.speed(wasm, SPEED_MAX_AGE_MS - 1)
    expect(h.runs()).toBe(1)
    await h.speed(wasm, SPEED_MAX_AGE_MS)
    expect(h.runs()).toBe(2)
    expect(h.store.get('wasm')?.measuredAt).toBe(SPEED_MAX_AGE_MS)
  })

  it('says nothing, and keeps nothing, when the benchmark fails or cannot run', async () => {
    const failing = harness([], () => Promise.reject(new Error('no Conv2DBackpropFilter')))
    expect(await failing.speed()).toBeUndefined()
    expect(failing.store.size).toBe(0)
    const nonsense = harness([], () => Promise.resolve(Infinity))
    expect(await nonsense.speed()).toBeUndefined()
    expect(nonsense.store.size).toBe(0)
    expect(await harness().speed(wasm, 0, { measure: undefined })).toBeUndefined()
  })

  it('measures again over a damaged record, whose speed the coordinator would refuse', async () => {
    for (const bad of [Number.NaN, -5, 0, Infinity]) {
      const h = harness([{ ...wasm, examplesPerSecond: bad, measuredAt: 900 }])
      expect(await h.speed()).toBe(230)
      expect(h.runs()).toBe(1)
      expect(h.store.get('wasm')?.examplesPerSecond).toBe(230)
    }
  })
})
