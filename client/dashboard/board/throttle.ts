/**
 * Calls `run` at most once per `ms`, the last call always honoured: a burst of events asks the
 * coordinator once. `clock` and `setTimer` are injected for tests.
 */
export function throttle(
  run: () => void,
  ms: number,
  {
    clock = Date.now,
    setTimer = (fire: () => void, wait: number): unknown => setTimeout(fire, wait),
  } = {},
): () => void {
  let pending = false
  let last = 0
  return () => {
    if (pending) return
    pending = true
    const wait = Math.max(0, last + ms - clock())
    setTimer(() => {
      pending = false
      last = clock()
      run()
    }, wait)
  }
}
