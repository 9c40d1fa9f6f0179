// The current round at a glance: how many devices are at each stage, and the deadline.
import type { RoundView } from '../../shared/protocol/index.ts'
import type { DeviceTrack } from './state.ts'

/** Stages in the order a device goes through them; `dropped` only once the round closed. */
export const STAGES = [
  'selected',
  'downloading',
  'training',
  'reported',
  'late',
  'dropped',
  'rejected',
] as const
export type Stage = (typeof STAGES)[number]
export type RoundProgress = Record<Stage, number>

/**
 * Counts per stage. The round's own counters are the truth for selected, reported, rejected,
 * late and dropped; of the devices still out (selected − reported − rejected), those seen to
 * download are training and the rest are downloading (a device that joined before the
 * dashboard connected, or had the model already, counts as downloading until it answers).
 */
export function roundProgress(round: RoundView, devices: readonly DeviceTrack[]): RoundProgress {
  const open = round.status === 'open'
  const out = open ? Math.max(0, round.selected - round.reported - round.rejected) : 0
  const seenTraining = devices.filter((d) => d.state === 'downloaded').length
  const training = Math.min(out, seenTraining)
  return {
    selected: round.selected,
    downloading: out - training,
    training,
    reported: round.reported,
    late: round.late,
    dropped: open ? 0 : round.dropped,
    rejected: round.rejected,
  }
}

/** The deadline as a person reads it: "1:05 left", "past the deadline", or why there is none. */
export function countdown(round: RoundView, now: number, { paused = false } = {}): string {
  if (round.status !== 'open') return round.status === 'committed' ? 'committed' : 'abandoned'
  // A paused task selects nobody, so a round nobody joined waits for the resume.
  if (round.deadlineAt === null)
    return paused ? 'paused: waits for resume' : 'the deadline starts with the first device'
  const ms = Date.parse(round.deadlineAt) - now
  if (ms <= 0) return 'past the deadline, closing'
  return `${duration(ms)} left`
}

/** m:ss below an hour, h:mm:ss above. */
export function duration(ms: number): string {
  const total = Math.ceil(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}
