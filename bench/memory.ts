// Peak resident memory of a process (this one by default), for the benchmarks.
import { readFileSync, writeFileSync } from 'node:fs'

/**
 * Linux keeps a process's exact peak RSS (VmHWM) and resets it when 5 is written to its
 * /proc/<pid>/clear_refs (allowed for one's own processes). Elsewhere there is no peak to read
 * (null).
 */
export function peakMemory(pid: number | 'self' = 'self') {
  return {
    reset(): boolean {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5')
        return true
      } catch {
        return false
      }
    },
    /** Bytes, or null where the system does not say. */
    read(): number | null {
      try {
        const kB = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
        return kB === undefined ? null : Number(kB) * 1024
      } catch {
        return null
      }
    },
  }
}

/** This process's peak RSS. */
export const highWaterMark = peakMemory()
