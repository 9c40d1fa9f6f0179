import { classesSeen, type Examples, labelHistogram, subset } from './examples.ts'
import { mulberry32, permutation, type Random, shuffleInPlace } from './random.ts'

function assertClients(d: Examples, clients: number, parts = clients): void {
  if (!Number.isInteger(clients) || clients < 1) {
    throw new RangeError(`clients must be a positive integer, got ${clients}`)
  }
  if (parts > d.count) {
    throw new RangeError(`cannot cut ${d.count} examples into ${parts} non-empty shards`)
  }
}

/** Cuts 0..n-1 into `parts` contiguous ranges whose sizes differ by at most one. */
function cuts(n: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => Math.floor((i * n) / parts))
}

/** IID: a seeded shuffle cut into `clients` disjoint shards of near-equal size (±1). */
export function shardIid<T extends Examples>(d: T, clients: number, seed: number): T[] {
  assertClients(d, clients)
  const order = permutation(d.count, mulberry32(seed))
  const at = cuts(d.count, clients)
  return Array.from({ length: clients }, (_, c) => subset(d, order.subarray(at[c], at[c + 1])))
}

export interface NonIidOptions {
  /** Shards dealt to each client, so at most this many labels per client. Default 2. */
  labelsPerClient?: number
  seed: number
}

/**
 * Pathological non-IID (McMahan et al. 2017, §3): sort by label, cut into
 * `clients * labelsPerClient` shards, deal each client `labelsPerClient` shards at random.
 *
 * One refinement: when there are at least as many shards as labels, shards are cut within each
 * label (each label gets a share of the shards proportional to its count, at least one), so every
 * shard holds one label and every client at most `labelsPerClient`. With fewer shards than labels
 * the sorted order is cut evenly, as in the paper, and a shard can straddle labels.
 */
export function shardNonIid<T extends Examples>(
  d: T,
  clients: number,
  { labelsPerClient = 2, seed }: NonIidOptions,
): T[] {
  if (!Number.isInteger(labelsPerClient) || labelsPerClient < 1) {
    throw new RangeError(`labelsPerClient must be a positive integer, got ${labelsPerClient}`)
  }
  const shardCount = clients * labelsPerClient
  assertClients(d, clients, shardCount)
  const random = mulberry32(seed)
  // Seeded shuffle, then a stable sort by label: each label's examples in random order.
  const order = Array.from(permutation(d.count, random)).sort((a, b) => d.labels[a]! - d.labels[b]!)
  const histogram = labelHistogram(d, classesSeen(d))
  const present = histogram.filter((n) => n > 0).length

  const shards: number[][] = []
  if (shardCount >= present) {
    const perLabel = apportion(histogram, shardCount)
    let start = 0
    for (let label = 0; label < histogram.length; label++) {
      const n = histogram[label]!
      const k = perLabel[label]!
      const at = cuts(n, k)
      for (let s = 0; s < k; s++) shards.push(order.slice(start + at[s]!, start + at[s + 1]!))
      start += n
    }
  } else {
    const at = cuts(d.count, shardCount)
    for (let s = 0; s < shardCount; s++) shards.push(order.slice(at[s], at[s + 1]))
  }

  shuffleInPlace(shards, random)
  return Array.from({ length: clients }, (_, c) =>
    subset(d, shards.slice(c * labelsPerClient, (c + 1) * labelsPerClient).flat()),
  )
}

/**
 * Splits `total` shards among labels in proportion to their counts (highest average, D'Hondt), giving
 * every present label at least one and never more shards than examples.
 */
function apportion(histogram: number[], total: number): number[] {
  const count = histogram.reduce((a, b) => a + b, 0)
  const present = histogram.map((n) => n > 0)
  const out = histogram.map((n): number => (n > 0 ? 1 : 0))
  let left = total - out.reduce((a, b) => a + b, 0)
  // Hand out the rest one at a time to the label with the most examples per shard.
  while (left > 0) {
    let best = -1
    let bestSize = 0
    for (let l = 0; l < histogram.length; l++) {
      if (!present[l] || out[l]! >= histogram[l]!) continue
      const size = histogram[l]! / out[l]!
      if (size > bestSize) {
        best = l
        bestSize = size
      }
    }
    if (best < 0) throw new RangeError(`cannot cut ${count} examples into ${total} shards`)
    out[best] = out[best]! + 1
    left--
  }
  return out
}

export interface DirichletOptions {
  /**
   * Concentration: small α (0.1) gives each client a few dominant labels, large α (100) nearly
   * the whole dataset's mix. Hsu et al. 2019.
   */
  alpha: number
  seed: number
}

/**
 * Dirichlet non-IID (Hsu, Qi and Brown 2019): for each label, the clients' shares of its examples
 * are drawn from Dir(α, …, α) and its examples (in seeded random order) cut by those shares.
 * Every client gets at least one example: a client left empty takes one from the largest.
 */
export function shardDirichlet<T extends Examples>(
  d: T,
  clients: number,
  { alpha, seed }: DirichletOptions,
): T[] {
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha <= 1e6)) {
    throw new RangeError(`alpha must be a number above 0 and at most 1e6, got ${alpha}`)
  }
  assertClients(d, clients)
  const random = mulberry32(seed)
  const order = permutation(d.count, random)
  const byLabel: number[][] = []
  for (const i of order) (byLabel[d.labels[i]!] ??= []).push(i)
  const parts: number[][] = Array.from({ length: clients }, () => [])
  for (const examples of byLabel) {
    if (!examples) continue
    const shares = dirichlet(clients, alpha, random)
    let start = 0
    let cumulative = 0
    shares.forEach((share, c) => {
      cumulative += share
      const end = c === clients - 1 ? examples.length : Math.round(cumulative * examples.length)
      parts[c]!.push(...examples.slice(start, Math.max(start, end)))
      start = Math.max(start, end)
    })
  }
  // Fill empty clients from the largest, so every client can train (at most clients - 1 moves).
  for (const part of parts) {
    if (part.length > 0) continue
    const largest = parts.reduce((a, b) => (b.length > a.length ? b : a))
    part.push(largest.pop()!)
  }
  return parts.map((part) => subset(d, part))
}

/**
 * A draw from the symmetric Dirichlet Dir(α, …, α) of `k` components: normalised Gamma(α, 1)
 * draws, kept as logarithms so that a small α (whose draws underflow to 0) still normalises.
 */
function dirichlet(k: number, alpha: number, random: Random): number[] {
  const logs = Array.from({ length: k }, () => logGamma(alpha, random))
  const max = Math.max(...logs)
  const weights = logs.map((l) => Math.exp(l - max))
  const sum = weights.reduce((a, b) => a + b, 0)
  return weights.map((w) => w / sum)
}

/**
 * log of a Gamma(shape, 1) draw: Marsaglia and Tsang (2000) for shape ≥ 1; below 1, the boost
 * Gamma(shape) = Gamma(shape + 1) · U^(1/shape), added in logs.
 */
function logGamma(shape: number, random: Random): number {
  if (shape < 1) {
    return logGamma(shape + 1, random) + Math.log(1 - random()) / shape
  }
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = normal(random)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = 1 - random()
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v)
  }
}

/** A standard normal draw (Box–Muller). */
function normal(random: Random): number {
  const u = 1 - random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
}
