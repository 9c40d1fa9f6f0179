/**
 * Top-k sparsification with error feedback (Stich et al. 2018, Karimireddy et al. 2019).
 *
 * A phone adds the residual it kept from its last upload to this round's delta, sends the k
 * entries of that sum largest in magnitude as (index, value) pairs, and keeps the rest as its new
 * residual: what top-k dropped is sent later instead of lost. Pure functions: the residual goes
 * in and comes out (the phone will keep it in IndexedDB).
 *
 * - Bytes (no header: the container carries the length; k is the size / 8): the k indices as
 *   uint32 little-endian, strictly ascending, then the k values as float32 little-endian, in the
 *   same order. 8 bytes per kept entry, so 8k/n per entry of the tensor (0.08 at k = n/100).
 * - Bias: one round's frame is biased (it drops the small entries), but nothing is lost: the
 *   kept values are exact, and decode(frame) + new residual = delta + old residual entry by entry
 *   (in float32), so over rounds the server receives every delta's sum less the residual now held.
 * - Error bound per round: ‖new residual‖² ≤ (1 − k/n)·‖delta + old residual‖², the k largest
 *   holding at least their share of the square norm.
 * - A phone that skips rounds: its residual was computed against an older model. It is kept, as
 *   it is, for up to `maxRoundsBehind` rounds (default 10, the default bound of an asynchronous
 *   task's staleness), then dropped (`residualAfterAbsence`). Kept, because error feedback's
 *   guarantee is that everything dropped is sent eventually, and a residual is at most the small
 *   entries of a few deltas, a stale but still descending direction on a model a few rounds on
 *   (an asynchronous task aggregates updates that stale already). Not decayed, because a decay
 *   loses part of it silently with no bound on how old the rest is. Dropped past the bound,
 *   because a direction from far behind the model no longer descends, and losing it costs what
 *   a phone that never came back costs.
 */
import { select } from '../aggregation/select.ts'
import { checkInteger, checkLength, codecError } from './limits.ts'

/** Bytes per kept entry: a uint32 index and a float32 value. */
export const TOPK_ENTRY_BYTES = 8

/** How many rounds behind a phone's residual is still added to its next delta, by default. */
export const DEFAULT_MAX_ROUNDS_BEHIND = 10

export interface TopKEncoded {
  bytes: Uint8Array<ArrayBuffer>
  /** delta + old residual less what `bytes` carries: the residual to keep for the next round. */
  residual: Float32Array<ArrayBuffer>
}

/**
 * Sends the k entries of delta + residual largest in magnitude (ties: the lower index first).
 * `residual` null means none (a first round, or one dropped); neither input is changed.
 */
export function encodeTopK(
  delta: Float32Array,
  residual: Float32Array | null,
  k: number,
): TopKEncoded {
  checkLength(delta.length, 'delta.length')
  if (residual && residual.length !== delta.length)
    throw codecError('residual', `holds ${residual.length} entries, the delta ${delta.length}`)
  checkInteger(k, 'k', 0, delta.length)
  const sum = withResidual(delta, residual)
  const kept = largestIndices(sum, k)
  const bytes = new Uint8Array(TOPK_ENTRY_BYTES * k)
  const view = new DataView(bytes.buffer)
  for (let j = 0; j < k; j++) {
    const index = kept[j]!
    view.setUint32(4 * j, index, true)
    view.setFloat32(4 * (k + j), sum[index]!, true)
    sum[index] = 0
  }
  return { bytes, residual: sum }
}

/** delta + residual in float32, refusing entries that are not finite or whose sum is not. */
function withResidual(
  delta: Float32Array,
  residual: Float32Array | null,
): Float32Array<ArrayBuffer> {
  const sum = Float32Array.from(delta)
  for (let i = 0; i < sum.length; i++) {
    if (!Number.isFinite(delta[i])) throw codecError(`delta.${i}`, `is ${delta[i]}`)
    if (!residual) continue
    if (!Number.isFinite(residual[i])) throw codecError(`residual.${i}`, `is ${residual[i]}`)
    sum[i]! += residual[i]!
    if (!Number.isFinite(sum[i]))
      throw codecError(`delta.${i}`, 'plus the residual overflows float32')
  }
  return sum
}

/** The indices of the k largest |values|, ascending. O(n) expected (introselect). */
function largestIndices(values: Float32Array, k: number): Uint32Array {
  const out = new Uint32Array(k)
  if (k === 0) return out
  const magnitudes = Float64Array.from(values, Math.abs)
  select(magnitudes, values.length - k)
  const threshold = magnitudes[values.length - k]! // the k-th largest
  let above = 0
  for (const x of values) if (Math.abs(x) > threshold) above++
  let ties = k - above // entries equal to the threshold to take, lowest index first
  let j = 0
  for (let i = 0; i < values.length && j < k; i++) {
    const magnitude = Math.abs(values[i]!)
    if (magnitude > threshold || (magnitude === threshold && ties-- > 0)) out[j++] = i
  }
  return out
}

/** The dense tensor of `length` entries a frame describes: its pairs, zeros elsewhere. */
export function decodeTopK(bytes: Uint8Array, length: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length)
  forEachTopK(bytes, length, (index, value) => (out[index] = value))
  return out
}

/**
 * Calls `visit` with each (index, value) pair of a frame for `length` entries, in ascending
 * index order: a reader that adds a frame into a sum needs no dense copy of it. A pair out of
 * order or out of range throws, after the pairs before it were visited.
 */
export function forEachTopK(
  bytes: Uint8Array,
  length: number,
  visit: (index: number, value: number) => void,
): void {
  checkLength(length, 'length')
  if (bytes.length % TOPK_ENTRY_BYTES !== 0 || bytes.length / TOPK_ENTRY_BYTES > length)
    throw codecError('bytes', `holds ${bytes.length} bytes, not 8 per entry for at most ${length}`)
  const k = bytes.length / TOPK_ENTRY_BYTES
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  let previous = -1
  for (let j = 0; j < k; j++) {
    const index = view.getUint32(4 * j, true)
    if (index <= previous || index >= length)
      throw codecError(`bytes.indices.${j}`, `is ${index}: indices ascend, each below ${length}`)
    visit(index, view.getFloat32(4 * (k + j), true))
    previous = index
  }
}

/**
 * The residual to add to a delta computed `roundsBehind` rounds after the one the residual was
 * left by (1: the next round, none skipped): the residual itself while that is at most
 * `maxRoundsBehind`, else null (dropped; see the module's comment for why).
 */
export function residualAfterAbsence(
  residual: Float32Array | null,
  roundsBehind: number,
  maxRoundsBehind = DEFAULT_MAX_ROUNDS_BEHIND,
): Float32Array | null {
  checkInteger(roundsBehind, 'roundsBehind', 1, Number.MAX_SAFE_INTEGER)
  checkInteger(maxRoundsBehind, 'maxRoundsBehind', 1, 1000)
  return roundsBehind <= maxRoundsBehind ? residual : null
}
