import type { Examples } from './examples.ts'
import { shardDirichlet, shardIid, shardNonIid } from './shard.ts'

/**
 * How examples are dealt to simulated devices: IID; `classes:N`, McMahan et al.'s pathological
 * non-IID (sorted by label, N shards per device, so at most N classes each); or `dirichlet:α`,
 * each class spread over the devices by Dirichlet(α) proportions (small α: skewed).
 */
export type Partition =
  { kind: 'iid' } | { kind: 'classes'; perDevice: number } | { kind: 'dirichlet'; alpha: number }

/** Bounds a command line may ask for: beyond them a run is no experiment anyone means. */
export const MAX_CLASSES_PER_DEVICE = 256
export const MIN_ALPHA = 0.001
export const MAX_ALPHA = 1000

export const PARTITION_SYNTAX = 'iid, classes:N (N = 1..256) or dirichlet:α (α = 0.001..1000)'

/** Reads `iid`, `classes:2` or `dirichlet:0.5`; throws a RangeError naming `what` and the syntax. */
export function parsePartition(text: string, what = '--shards'): Partition {
  const fail = (): never => {
    throw new RangeError(`${what} must be ${PARTITION_SYNTAX}, got '${text}'`)
  }
  if (text === 'iid') return { kind: 'iid' }
  const match = /^(classes|dirichlet):([0-9.eE+-]+)$/.exec(text)
  if (!match) return fail()
  const value = Number(match[2])
  if (match[1] === 'classes') {
    if (!Number.isInteger(value) || value < 1 || value > MAX_CLASSES_PER_DEVICE) return fail()
    return { kind: 'classes', perDevice: value }
  }
  if (!Number.isFinite(value) || value < MIN_ALPHA || value > MAX_ALPHA) return fail()
  return { kind: 'dirichlet', alpha: value }
}

/** The partition as `parsePartition` reads it. */
export function formatPartition(p: Partition): string {
  if (p.kind === 'iid') return 'iid'
  return p.kind === 'classes' ? `classes:${p.perDevice}` : `dirichlet:${p.alpha}`
}

/** `examples` dealt to `devices` shards as `partition` says, seeded. */
export function partitionExamples<T extends Examples>(
  examples: T,
  devices: number,
  partition: Partition,
  seed: number,
): T[] {
  switch (partition.kind) {
    case 'iid':
      return shardIid(examples, devices, seed)
    case 'classes':
      return shardNonIid(examples, devices, { labelsPerClient: partition.perDevice, seed })
    case 'dirichlet':
      return shardDirichlet(examples, devices, { alpha: partition.alpha, seed })
  }
}
