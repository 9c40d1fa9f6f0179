import type { CheckinAnswer } from '../../shared/protocol/index.ts'
import type { LiveRound, LiveTask } from './live.ts'

/**
 * When is an open round likely to close? At its deadline, or sooner if reports keep arriving
 * at the rate they have so far. Undefined for a round without a deadline.
 */
export function expectedClose(round: LiveRound, now: number): number | undefined {
  const { deadlineAt, reported } = round.record
  if (deadlineAt === null) return undefined
  const selectedAt = deadlineAt - round.settings.deadlineSeconds * 1000
  if (reported === 0) return deadlineAt
  const perReport = (now - selectedAt) / reported
  return Math.min(deadlineAt, selectedAt + perReport * round.settings.clientsPerRound)
}

/**
 * Pace steering: come back about when the next round of these tasks is likely to open, with
 * jitter (×0.75 to ×1.25), within `retry`'s bounds.
 */
export function retryLater(
  eligible: readonly Pick<LiveTask, 'open' | 'record'>[],
  {
    now,
    retry,
    random,
  }: { now: number; retry: { minSeconds: number; maxSeconds: number }; random: () => number },
  why?: string,
): CheckinAnswer {
  const waits = eligible
    .map((t) => (t.open ? expectedClose(t.open, now) : undefined))
    .filter((at): at is number => at !== undefined)
    .map((at) => (at - now) / 1000)
  const base = Math.min(retry.maxSeconds, ...waits) * (0.75 + 0.5 * random())
  const jittered = Math.min(retry.maxSeconds, Math.max(retry.minSeconds, base))
  const reason =
    why ??
    (eligible.every((t) => t.record.status === 'paused')
      ? 'the tasks this device can join are paused'
      : 'the current rounds have all the devices they need')
  return { type: 'retry', retryAfterSeconds: Math.round(jittered * 100) / 100, reason }
}
