import type { Clock, TimerHandle } from '../clock/index.ts'
import type { DatasetRecord, Store } from '../store/index.ts'

/** Replicas on one PostgreSQL database: how often each reads every dataset again. */
export interface SharedDatasets {
  pollMs: number
}

export interface MirrorOptions {
  store: Store
  clock: Clock
  /** Set when other coordinators write the same store (replicas); absent: this one alone. */
  shared?: SharedDatasets | undefined
  log?: (message: string) => void
}

/**
 * The declared datasets in memory, for the round engine's and check-ins' synchronous questions,
 * and how they follow the store. Alone on its store (embedded), a coordinator is the only
 * writer: the mirror is the truth once loaded and nothing is read again. Replicas each write
 * the same table, so there a dataset is read again before a request acts on it (refresh) or
 * when a lookup misses, and every dataset each `pollMs` (sync): a declaration, change or delete
 * on another replica counts at once for what reads it, within a poll for what asks memory.
 * A poll, not events: it needs no event in the public stream, heals whatever a replica missed,
 * and costs one read of a small table a second.
 */
export function datasetMirror({ store, clock, shared, log = () => {} }: MirrorOptions) {
  const records = new Map<string, DatasetRecord>()
  let timer: TimerHandle | undefined
  let stopped = false

  /** The dataset as the store has it now (shared), kept here; alone: as held here. */
  async function refresh(name: string): Promise<DatasetRecord | undefined> {
    if (!shared) return records.get(name)
    const record = await store.getDataset(name)
    if (record) records.set(name, record)
    else records.delete(name)
    return record
  }

  /** Every dataset as the store has it now (shared only). */
  async function sync(): Promise<void> {
    if (!shared) return
    const listed = await store.listDatasets()
    const names = new Set(listed.map((r) => r.name))
    for (const name of records.keys()) if (!names.has(name)) records.delete(name)
    for (const record of listed) records.set(record.name, record)
  }

  function poll(pollMs: number) {
    timer = clock.setTimeout(() => {
      void sync()
        .catch((error: unknown) => log(`datasets: reading them again failed: ${String(error)}`))
        .finally(() => {
          if (!stopped) poll(pollMs)
        })
    }, pollMs)
  }

  return {
    records,
    refresh,
    sync,
    /** Held here, or else (shared) read from the store before answering that there is none. */
    lookup: async (name: string) => records.get(name) ?? (shared ? refresh(name) : undefined),
    /** Whether a dataset refers to blob `hash`: another replica's may (shared: the store's). */
    holds: async (hash: string): Promise<boolean> => {
      const all = shared ? await store.listDatasets() : [...records.values()]
      return all.some((r) => r.heldOut?.hash === hash)
    },
    /** Loads every dataset, then (shared) polls them. */
    start: async () => {
      for (const record of await store.listDatasets()) records.set(record.name, record)
      if (shared && !stopped) poll(shared.pollMs)
    },
    stop: () => {
      stopped = true
      if (timer) clock.clearTimeout(timer)
    },
  }
}
