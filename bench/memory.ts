// Peak resident memory of this process, for the benchmarks.
import { readFileSync, writeFileSync } from 'node:fs'

/**
 * Linux keeps the exact peak RSS (VmHWM) and lets a process reset it by writing 5 to
 * /proc/self/clear_refs. Elsewhere there is no peak to read (null).
 */
export const highWaterMark = {
  reset(): boolean {
    try {
      writeFileSync('/proc/self/clear_refs', '5')
      return true
    } catch {
      return false
    }
  },
  /** Bytes, or null where the system does not say. */
  read(): number | null {
    try {
      const kB = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
      return kB === undefined ? null : Number(kB) * 1024
    } catch {
      return null
    }
  },
}
