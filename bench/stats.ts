// The statistics of bench:train: each runtime epoch is paired with the PyTorch epoch just before
// it, so a ratio is taken from two adjacent measurements and the machine's drift over minutes
// cancels out of it, and the figures reported are medians with their spread.

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('the median of no values')
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The smallest and largest value. */
export function range(xs: readonly number[]): [number, number] {
  if (xs.length === 0) throw new Error('the range of no values')
  return [Math.min(...xs), Math.max(...xs)]
}

/** One repeat: examples/s of the reference epoch and of the runtime epoch that followed it. */
export interface Pair {
  reference: number | null
  runtime: number
}

export interface Summary {
  /** Median examples/s of the runtime's epochs, and their range. */
  runtime: { median: number; range: [number, number] }
  /** Median examples/s of the reference epochs paired with them, and their range; null without one. */
  reference: { median: number; range: [number, number] } | null
  /** Median of the per-pair ratios runtime / reference, and their range; null without a reference. */
  ratio: { median: number; range: [number, number] } | null
}

/** Per-pair ratios, in the order of the pairs; a pair without a reference has none. */
export const ratios = (pairs: readonly Pair[]): number[] =>
  pairs.flatMap(({ reference, runtime }) => (reference === null ? [] : [runtime / reference]))

/** Summarises the repeats of one model on one runtime at one thread count. */
export function summarise(pairs: readonly Pair[]): Summary {
  const of = (xs: number[]) => (xs.length === 0 ? null : { median: median(xs), range: range(xs) })
  return {
    runtime: of(pairs.map((p) => p.runtime))!,
    reference: of(pairs.flatMap((p) => (p.reference === null ? [] : [p.reference]))),
    ratio: of(ratios(pairs)),
  }
}
