/**
 * Runs `task` over `items`, at most `limit` at a time. WebCrypto does its work off the main
 * thread, so a few expansions in flight keep every core busy while the main thread adds masks;
 * more would only hold more mask buffers in memory. Stops taking items at the first failure.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++
      try {
        await task(items[index]!, index)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** How many parallel mask expansions a participant or the server keeps in flight. */
export const EXPANSIONS_IN_FLIGHT = 8
