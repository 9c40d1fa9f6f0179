// What bench:scale reads about the processes it measures: CPU and RSS of a process from /proc
// (Linux), and the PostgreSQL side of the bench's own database: its backends' CPU (from /proc,
// by the pids pg_stat_activity names), its connections, and pg_stat_database's counters.
import { readFileSync } from 'node:fs'
import pg from 'pg'

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100

/** CPU seconds (user + system) a process has used, or null once it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces: count fields after its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return null
  }
}

/** Resident set size of a process in bytes (VmRSS), or null once it is gone. */
export function processRss(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status)
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}

/** pg_stat_database's counters of one database that say what the calls made it do. */
export interface DatabaseCounters {
  xactCommit: number
  xactRollback: number
  tupReturned: number
  tupFetched: number
  tupInserted: number
  tupUpdated: number
  tupDeleted: number
  blksRead: number
  blksHit: number
}

export type Connections = Record<string, number>

/** Reads the database side through one connection of its own (to `postgres`, not the bench's). */
export async function databaseProbe(adminUrl: string, database: string) {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'bench:scale' })
  await client.connect()
  /** Backend pid → CPU seconds when first seen, and last seen (a backend may exit). */
  const backends = new Map<number, { first: number; last: number }>()

  return {
    /** The backends serving the bench's database now, by state, and their pids. */
    async connections(): Promise<{ byState: Connections; pids: number[] }> {
      const { rows } = await client.query<{ pid: number; state: string | null }>(
        'select pid, state from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [database],
      )
      const byState: Connections = {}
      for (const { state } of rows) byState[state ?? 'none'] = (byState[state ?? 'none'] ?? 0) + 1
      return { byState, pids: rows.map((r) => r.pid) }
    },
    /** Notes the CPU of every backend now serving the database (call it often). */
    sampleCpu(pids: readonly number[]) {
      for (const pid of pids) {
        const cpu = processCpuSeconds(pid)
        if (cpu === null) continue
        const seen = backends.get(pid)
        if (seen) seen.last = cpu
        else backends.set(pid, { first: cpu, last: cpu })
      }
    },
    /**
     * CPU the backends used since the last reset: what each used between its first and last
     * sample. A backend that exits between samples loses its last interval; one that starts
     * between samples is counted from its first (the bench samples every 100 ms).
     */
    cpuSinceReset(): number {
      let total = 0
      for (const { first, last } of backends.values()) total += last - first
      return total
    },
    resetCpu() {
      for (const seen of backends.values()) seen.first = seen.last
    },
    async counters(): Promise<DatabaseCounters> {
      const { rows } = await client.query<Record<string, string>>(
        `select xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,
                tup_updated, tup_deleted, blks_read, blks_hit
           from pg_stat_database where datname = $1`,
        [database],
      )
      const row = rows[0]
      if (!row) throw new Error(`pg_stat_database has no row for ${database}`)
      return {
        xactCommit: Number(row.xact_commit),
        xactRollback: Number(row.xact_rollback),
        tupReturned: Number(row.tup_returned),
        tupFetched: Number(row.tup_fetched),
        tupInserted: Number(row.tup_inserted),
        tupUpdated: Number(row.tup_updated),
        tupDeleted: Number(row.tup_deleted),
        blksRead: Number(row.blks_read),
        blksHit: Number(row.blks_hit),
      }
    },
    close: () => client.end(),
  }
}

export type DatabaseProbe = Awaited<ReturnType<typeof databaseProbe>>

/** `after − before`, field by field. */
export function counterDelta(before: DatabaseCounters, after: DatabaseCounters): DatabaseCounters {
  const delta = { ...after }
  for (const key of Object.keys(delta) as (keyof DatabaseCounters)[])
    delta[key] = after[key] - before[key]
  return delta
}
