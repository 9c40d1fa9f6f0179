import { describe, expect, it } from 'vitest'
import { nextMacrotask, tf, useBackend } from './index.ts'

describe('useBackend', () => {
  it('switches between wasm and cpu and reports the active backend', async () => {
    expect(await useBackend('cpu')).toBe('cpu')
    expect(await useBackend('wasm')).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync())
    expect(sum).toEqual([4, 6])
  })
})

describe('nextMacrotask', () => {
  it('resolves after queued macrotasks, not within the current one', async () => {
    let immediate = false
    setImmediate(() => (immediate = true))
    let resolved = false
    const p = nextMacrotask().then(() => (resolved = true))
    await Promise.resolve()
    expect(resolved).toBe(false)
    await p
    expect(immediate).toBe(true)
  })
})
