// Buffers for large request bodies, used again once their bytes are no longer needed.
//
// A fresh 4.8 MB buffer per synet upload is what V8's garbage collector is forced to run for
// ("external memory pressure": a scavenge or a full mark-compact every few uploads) and what the
// kernel faults in page by page (docs/BENCHMARKS.md, "Ingest"). A buffer goes back to the pool
// only when whoever consumed its bytes says so (`give`); one never given back is simply dropped
// to the garbage collector, as before.

/** Bodies smaller than this are allocated as usual: pooling them saves nothing that shows. */
const POOLED_FROM_BYTES = 1024 * 1024
/** A free buffer serves a body at most this much smaller than it (one model's bodies differ by a few bytes of metadata). */
const REUSE_SLACK_BYTES = 128 * 1024

export interface BodyPool {
  /**
   * A buffer of exactly `length` bytes, for a body the caller may hold up to `limit` bytes of:
   * a pooled buffer is never larger than `limit`, the bound the upload gate counts on. Its
   * contents are the previous body's: the caller must fill every byte before reading any.
   */
  take(length: number, limit: number): Uint8Array
  /**
   * Gives back a buffer `take` handed out, once nothing refers to its bytes any more. Giving back
   * twice, or what `take` did not hand out, does nothing: a buffer is never pooled twice.
   */
  give(bytes: Uint8Array): void
  /** Buffers waiting to be used again. */
  readonly free: number
}

/** A pool that keeps at most `maxFree` buffers waiting (each at most an upload's limit). */
export function bodyPool({ maxFree = 4 }: { maxFree?: number } = {}): BodyPool {
  if (!Number.isSafeInteger(maxFree) || maxFree < 0)
    throw new RangeError(`maxFree ${maxFree} is not a whole number ≥ 0`)
  const free: ArrayBuffer[] = []
  // Weak: a buffer handed out and never given back must not be kept alive by the pool.
  const lent = new WeakSet<ArrayBuffer>()

  function take(length: number, limit: number): Uint8Array {
    if (length < POOLED_FROM_BYTES || length > limit) return new Uint8Array(length)
    const at = free.findIndex(
      (b) => b.byteLength >= length && b.byteLength <= Math.min(limit, length + REUSE_SLACK_BYTES),
    )
    // Room for the next body of the same model, a few bytes longer, without passing the limit.
    const buffer =
      at >= 0
        ? free.splice(at, 1)[0]!
        : new ArrayBuffer(limit - length <= REUSE_SLACK_BYTES ? limit : length)
    lent.add(buffer)
    return new Uint8Array(buffer, 0, length)
  }

  function give(bytes: Uint8Array): void {
    const buffer = bytes.buffer
    if (!(buffer instanceof ArrayBuffer) || !lent.has(buffer)) return
    lent.delete(buffer)
    if (free.length < maxFree) free.push(buffer)
  }

  return {
    take,
    give,
    get free() {
      return free.length
    },
  }
}
