import { describe, expect, it } from 'vitest'
import { createVirtualClock } from './index.ts'

describe('virtual clock', () => {
  it('fires due timers in order and only when time reaches them', () => {
    const clock = createVirtualClock(1000)
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200)
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100)
    const c = clock.setTimeout(() => fired.push('c'), 150)
    clock.clearTimeout(c)
    clock.advance(99)
    expect(fired).toEqual([])
    clock.advance(150)
    expect(fired).toEqual(['a@1100', 'b@1200'])
    expect(clock.now()).toBe(1249)
    expect(clock.pending()).toBe(0)
  })
})
