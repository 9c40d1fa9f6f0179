/**
 * Resolves on the next macrotask, so that other work (timers, I/O, messages, other simulated
 * devices) gets a turn. setImmediate in Node, a MessageChannel in browsers and workers (no 4 ms
 * clamp as with nested setTimeout), setTimeout otherwise.
 */
export function nextMacrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown }
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate
    return new Promise((resolve) => void setImmediate(resolve))
  }
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel()
      channel.port1.onmessage = () => {
        channel.port1.close()
        resolve()
      }
      channel.port2.postMessage(null)
    })
  }
  return new Promise((resolve) => setTimeout(resolve, 0))
}
