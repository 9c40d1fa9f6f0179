import { describe, expect, it } from 'vitest'
import { createWaker, repeatPasses } from './waker.ts'

describe('the loop’s waker', () => {
  it('sleeps the time asked', async () => {
    const started = Date.now()
    await createWaker().wait(30, new AbortController().signal)
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
  })

  it('wakes at once when kicked, or when its signal aborts', async () => {
    const waker = createWaker()
    const started = Date.now()
    const sleeping = waker.wait(60_000, new AbortController().signal)
    waker.kick()
    await sleeping
    const stop = new AbortController()
    const again = waker.wait(60_000, stop.signal)
    stop.abort()
    await again
    expect(Date.now() - started).toBeLessThan(5_000)
    waker.kick() // nothing sleeps: nothing happens
  })
})

describe('the loop’s passes', () => {
  it('sleep what each asks, back off after failures, and end when stopped', async () => {
    const stop = new AbortController()
    const slept: number[] = []
    const answers: (number | Error)[] = [0, 5, new Error('down'), new Error('down'), Infinity, 7]
    let passes = 0
    await repeatPasses(
      () => {
        const answer = answers[passes++]
        if (answer === undefined) stop.abort()
        if (answer instanceof Error) return Promise.reject(answer)
        return Promise.resolve(answer ?? 0)
      },
      {
        wait: (ms) => {
          slept.push(ms)
          return Promise.resolve()
        },
      },
      stop.signal,
    )
    // No sleep after a pause of 0; 4 s then 8 s after failures; a minute for "until woken".
    expect(slept).toEqual([5, 4000, 8000, 60_000, 7])
    expect(passes).toBe(7)
  })
})
