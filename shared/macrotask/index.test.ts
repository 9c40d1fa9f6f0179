import { describe, expect, it } from 'vitest'
import { nextMacrotask } from './index.ts'

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
