// What keeps the coordinator from doing its job, for /healthz: today the writes it keeps retrying.
import type { Clock } from '../clock/index.ts'

export interface Failing {
  /** What fails: a subsystem and what it was doing ("blob store: task … round 5's new model"). */
  what: string
  /** When it first failed (ISO 8601), and when it last did. */
  since: string
  lastAt: string
  attempts: number
  error: string
}

export type HealthReport = { status: 'ok' } | { status: 'degraded'; failing: Failing[] }

export interface Health {
  /** Records a failed attempt at `what`; the first one sets `since`. */
  failed(what: string, error: unknown): void
  /** `what` works again, or is no longer tried. */
  cleared(what: string): void
  report(): HealthReport
}

export function createHealth({ clock }: { clock: Clock }): Health {
  const failing = new Map<string, Failing>()
  return {
    failed(what, error) {
      const at = new Date(clock.now()).toISOString()
      const entry = failing.get(what) ?? { what, since: at, lastAt: at, attempts: 0, error: '' }
      entry.lastAt = at
      entry.attempts += 1
      entry.error = error instanceof Error ? error.message : String(error)
      failing.set(what, entry)
    },
    cleared(what) {
      failing.delete(what)
    },
    report: () =>
      failing.size === 0
        ? { status: 'ok' }
        : { status: 'degraded', failing: [...failing.values()].map((f) => ({ ...f })) },
  }
}
