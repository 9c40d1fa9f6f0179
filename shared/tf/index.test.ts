import { describe, expect, it } from 'vitest'
import { tf, useBackend } from './index.ts'

describe('useBackend', () => {
  it('switches between wasm and cpu and reports the active backend', async () => {
    expect(await useBackend('cpu')).toBe('cpu')
    expect(await useBackend('wasm')).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync())
    expect(sum).toEqual([4, 6])
  })
})
