/**
 * The contribute loop's sleep between passes, which a change cuts short: a consent or a
 * condition changed, the network returned, or the loop stops.
 */
export function createWaker() {
  let kick: (() => void) | null = null
  return {
    /** Sleeps `ms`, or less when kicked or when `signal` aborts. */
    wait(ms: number, signal: AbortSignal): Promise<void> {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer)
          signal.removeEventListener('abort', done)
          kick = null
          resolve()
        }
        const timer = setTimeout(done, ms)
        signal.addEventListener('abort', done)
        kick = done
      })
    },
    /** Ends the sleep under way now (nothing when none is). */
    kick(): void {
      kick?.()
    },
  }
}

/**
 * Runs the loop's passes until `stop` aborts, sleeping what each asks for (Infinity: until a
 * change wakes it, or a minute), and after failures backing off exponentially, to a minute.
 */
export async function repeatPasses(
  step: (stop: AbortSignal) => Promise<number>,
  waker: Pick<Waker, 'wait'>,
  stop: AbortSignal,
): Promise<void> {
  let failures = 0
  while (!stop.aborted) {
    let pause: number
    try {
      pause = await step(stop)
      failures = 0
    } catch {
      failures += 1
      pause = Math.min(60_000, 2000 * 2 ** failures)
    }
    if (stop.aborted) break
    // Infinity: nothing can happen until a consent or a condition changes.
    if (pause > 0) await waker.wait(Number.isFinite(pause) ? pause : 60_000, stop)
  }
}

export type Waker = ReturnType<typeof createWaker>
