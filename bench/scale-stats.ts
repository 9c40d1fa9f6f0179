// The pure parts of bench:scale: latency percentiles, per-call costs, and the capacity model
// that turns costs measured on one machine into what a cluster of machines would carry.

/** The p-th percentile (0 < p ≤ 100) by nearest rank: a value that was measured, never a blend. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('the percentile of no values')
  if (!(p > 0 && p <= 100)) throw new Error(`a percentile is above 0 and at most 100, got ${p}`)
  const sorted = Float64Array.from(xs).sort()
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!
}

export interface Latency {
  count: number
  p50: number
  p99: number
  max: number
}

/** Milliseconds of a call type: p50, p99 and max; null for no calls. */
export function latency(ms: readonly number[]): Latency | null {
  if (ms.length === 0) return null
  return {
    count: ms.length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    max: percentile(ms, 100),
  }
}

/** What one kind of call cost, measured over the phases that made it. */
export interface CallCost {
  calls: number
  /** CPU seconds per call in the coordinator replicas, all of them together. */
  replicaCpu: number
  /** CPU seconds per call in the PostgreSQL backends of the bench's database (0 on PGlite). */
  databaseCpu: number
}

/** The machines a cluster is made of, for the model below. */
export interface Cluster {
  /** Replica machines; each gives its replica `coresPerReplica` cores. */
  replicas: number
  /**
   * Cores one replica process can use. Node runs JavaScript on one thread: 1 unless the
   * measured replica CPU shows the process spending more (GC and I/O threads).
   */
  coresPerReplica: number
  /** Cores of the PostgreSQL server (0 when the store is embedded in the replica). */
  databaseCores: number
}

export interface Capacity {
  /** Calls per second the cluster would carry, the smaller of the two bounds. */
  callsPerSecond: number
  /** The part that saturates first. */
  bound: 'replicas' | 'database'
  replicaBound: number
  databaseBound: number
}

/**
 * Calls per second of one kind a cluster carries, computed (not measured) from the measured CPU
 * per call: the replicas share the calls evenly, so they carry replicas × cores / cost; the one
 * database carries its cores / its cost. The smaller is the capacity. It leaves out the network,
 * lock waits and disk, which the bench's own run shows in its latencies.
 */
export function capacity(cost: CallCost, cluster: Cluster): Capacity {
  const replicaBound =
    cost.replicaCpu > 0 ? (cluster.replicas * cluster.coresPerReplica) / cost.replicaCpu : Infinity
  const databaseBound =
    cost.databaseCpu > 0 && cluster.databaseCores > 0
      ? cluster.databaseCores / cost.databaseCpu
      : Infinity
  return {
    callsPerSecond: Math.min(replicaBound, databaseBound),
    bound: databaseBound < replicaBound ? 'database' : 'replicas',
    replicaBound,
    databaseBound,
  }
}

/**
 * Replicas past which adding more no longer helps: where the replicas' bound meets the
 * database's. Infinity when the database costs nothing measurable.
 */
export function replicasToSaturateDatabase(
  cost: CallCost,
  cluster: Omit<Cluster, 'replicas'>,
): number {
  if (cost.databaseCpu <= 0 || cluster.databaseCores <= 0) return Infinity
  return (cluster.databaseCores * cost.replicaCpu) / (cluster.coresPerReplica * cost.databaseCpu)
}

/** A round's work: every device in the population checks in, the selected download and upload. */
export interface RoundMix {
  checkins: number
  downloads: number
  uploads: number
}

/**
 * Rounds per minute a cluster carries for this mix (computed): the CPU a round costs on the
 * replicas and on the database, against the cores each side has.
 */
export function roundsPerMinute(
  costs: { checkin: CallCost; download: CallCost; upload: CallCost },
  mix: RoundMix,
  cluster: Cluster,
): number {
  const side = (key: 'replicaCpu' | 'databaseCpu') =>
    mix.checkins * costs.checkin[key] +
    mix.downloads * costs.download[key] +
    mix.uploads * costs.upload[key]
  const replicaSeconds = side('replicaCpu') / (cluster.replicas * cluster.coresPerReplica)
  const database = side('databaseCpu')
  const databaseSeconds =
    database > 0 && cluster.databaseCores > 0 ? database / cluster.databaseCores : 0
  const seconds = Math.max(replicaSeconds, databaseSeconds)
  return seconds > 0 ? 60 / seconds : Infinity
}
