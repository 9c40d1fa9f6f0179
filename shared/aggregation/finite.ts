import type { NamedTensor } from '../tensors/index.ts'

/** True when every value of every tensor is finite (no NaN, no ±Infinity). */
export function allFinite(tensors: readonly NamedTensor[]): boolean {
  // x·0 is 0 for every finite x and NaN for NaN and ±∞, so the sum stays 0 exactly when all are
  // finite. A branch-free indexed loop: twice as fast as testing Number.isFinite on each value
  // (2.3 → 1.2 ms on a synet update), ten times a for-of; no early exit, which only a broken
  // update would have taken.
  for (const t of tensors) {
    const data = t.data
    let zero = 0
    for (let k = 0; k < data.length; k++) zero += data[k]! * 0
    if (zero !== 0) return false
  }
  return true
}
