import { MAX_HOLDERS, SECAGG_DEFAULTS } from './constants.ts'
import { invalid } from './errors.ts'

/**
 * The SecAgg+ communication graph (Bell et al. 2020): each participant masks with, and shares its
 * secrets among, its k neighbours only, so a round costs O(n·k) instead of O(n²). Small rounds use
 * the complete graph (plain SecAgg, Bonawitz et al. 2017); larger ones the k-regular Harary graph
 * (a ring where each links to the k/2 on either side) over a random permutation of the ids.
 */

export type Random = () => number

/** Rounds this small are cheap in full and get the complete graph's dropout tolerance. */
export const COMPLETE_UP_TO = 30
/**
 * The chance, at the expected dropout rate, that some participant keeps fewer than t share
 * holders and the round cannot be unmasked. A failure costs a retry, never privacy.
 */
export const FAILURE_TARGET = 1e-3

/**
 * Neighbours per participant for a round of `n`.
 *
 * Security asks for k ≥ 3·log2 n: over a random permutation the survivors' graph then stays
 * connected (it splits only if k/2 consecutive participants all drop, probability about
 * n·δ^(k/2) ≤ n^-1.6 for δ ≤ 0.3), and a connected survivors' graph is what keeps the server from
 * learning partial sums; Bell et al. show O(log n) suffices. Correctness asks that every
 * participant keeps t = ⌈thresholdShare·k⌉ live neighbours to rebuild its secrets: k is the
 * smallest even degree above the security floor for which, with each participant dropping
 * independently at `dropoutRate`, n·P[Binomial(k, 1 − δ) < t] ≤ FAILURE_TARGET. That is still
 * O(log n) (a Chernoff bound), with a constant that grows as 1 − δ nears thresholdShare: at 0.6
 * and δ = 0.3 a round of 500 needs ~460. GF(2^8) Shamir caps holders at 255, so past a complete
 * graph of 256 the degree stops at 254 and such rounds fail more often than the target.
 */
export function degreeFor(
  n: number,
  {
    thresholdShare = SECAGG_DEFAULTS.thresholdShare,
    dropoutRate = SECAGG_DEFAULTS.dropoutRate,
  }: { thresholdShare?: number; dropoutRate?: number } = {},
): number {
  if (!Number.isInteger(n) || n < 1) throw invalid('participants', 'must be a whole number')
  if (!(dropoutRate >= 0 && dropoutRate < 1)) throw invalid('dropoutRate', 'must be in [0, 1)')
  const complete = n - 1
  if (n <= COMPLETE_UP_TO) return complete
  const cap = complete <= MAX_HOLDERS ? complete : MAX_HOLDERS - 1
  for (let k = even(Math.ceil(3 * Math.log2(n))); k < cap; k += 2) {
    const t = thresholdFor(k, thresholdShare)
    if (n * binomialBelow(k, 1 - dropoutRate, t) <= FAILURE_TARGET) return k
  }
  return cap
}

/**
 * Shares needed to rebuild a secret: ⌈thresholdShare·k⌉, at least 2. Above half the neighbours
 * (thresholdShare > 0.5), so no server can gather enough self-mask shares and enough mask-key
 * shares of one participant when each neighbour reveals only one kind; at least 2, because with
 * 1 a single share is the secret itself.
 */
export function thresholdFor(degree: number, thresholdShare: number): number {
  if (!(thresholdShare > 0.5 && thresholdShare <= 1))
    throw invalid('thresholdShare', 'must be above 0.5 and at most 1')
  // The epsilon keeps 0.6·5 = 3.0000000000000004 at 3.
  return Math.max(2, Math.ceil(thresholdShare * degree - 1e-9))
}

/** P[Binomial(k, p) < t], summed in log space so large k neither overflows nor underflows. */
export function binomialBelow(k: number, p: number, t: number): number {
  if (t <= 0) return 0
  if (t > k) return 1
  if (p >= 1) return 0
  if (p <= 0) return 1
  const logRatio = Math.log(p / (1 - p))
  let logPmf = k * Math.log1p(-p) // i = 0
  let sum = 0
  for (let i = 0; i < t; i++) {
    sum += Math.exp(logPmf)
    logPmf += Math.log((k - i) / (i + 1)) + logRatio
  }
  return Math.min(1, sum)
}

/**
 * Each id's neighbours, sorted: all others if `degree` ≥ ids − 1, else the Harary ring of even
 * `degree` over a permutation drawn with `random`. Symmetric, no self loops.
 */
export function buildGraph(
  ids: readonly string[],
  degree: number,
  random: Random = cryptoRandom,
): Map<string, string[]> {
  const n = ids.length
  const graph = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]))
  if (graph.size !== n) throw invalid('ids', 'an id twice')
  if (degree >= n - 1) {
    for (const [id, set] of graph) for (const other of ids) if (other !== id) set.add(other)
  } else {
    if (!Number.isInteger(degree) || degree < 2 || degree % 2 !== 0)
      throw invalid('degree', `a sparse graph needs an even degree of at least 2, got ${degree}`)
    const order = [...ids]
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    for (let i = 0; i < n; i++)
      for (let offset = 1; offset <= degree / 2; offset++) {
        const a = order[i]!
        const b = order[(i + offset) % n]!
        graph.get(a)!.add(b)
        graph.get(b)!.add(a)
      }
  }
  return new Map([...graph].map(([id, set]) => [id, [...set].sort()]))
}

/** Whether `members` induce a connected subgraph (an empty or single set is connected). */
export function isConnected(members: ReadonlySet<string>, graph: Map<string, string[]>): boolean {
  const [start] = members
  if (start === undefined) return true
  const seen = new Set([start])
  const queue = [start]
  while (queue.length > 0) {
    const id = queue.pop()!
    for (const next of graph.get(id) ?? [])
      if (members.has(next) && !seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
  }
  return seen.size === members.size
}

/** A uniform float in [0, 1) from 53 random bits: the default permutation must be unpredictable. */
export function cryptoRandom(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2))
  return ((hi! >>> 5) * 2 ** 26 + (lo! >>> 6)) / 2 ** 53
}

const even = (k: number) => k + (k % 2)

/**
 * The x-coordinate a holder's shares of an owner's secrets carry: its 1-based place among the
 * owner's neighbours sorted by id. The owner and the server both know that list.
 */
export function holderX(ownerNeighbours: readonly string[], holder: string): number {
  const index = ownerNeighbours.indexOf(holder)
  if (index < 0) throw new Error(`${holder} is not a neighbour`)
  return index + 1
}
