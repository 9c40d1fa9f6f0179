// Rounds shaped into the columns uPlot draws (x values first, one array per series, null for a
// gap: a round without a held-out evaluation, a round still open) and into the rows of the
// fairness tables.
import type {
  Participation,
  ParticipationShare,
  RoundView,
  SpeedTier,
} from '../../../shared/protocol/index.ts'

// Types only from shared/protocol: its values would pull zod into the page. The records keep
// these lists complete: a new tier or backend there fails to compile here.
const TIER_NAMES: Record<SpeedTier, string> = {
  fast: 'fast',
  medium: 'medium',
  slow: 'slow',
  unknown: 'unknown',
}
const BACKEND_NAMES: Record<keyof Participation['byBackend'], string> = {
  webgpu: 'WebGPU',
  wasm: 'WASM',
  cpu: 'CPU',
}
export const SPEED_TIERS = Object.keys(TIER_NAMES) as SpeedTier[]
export const BACKENDS = Object.keys(BACKEND_NAMES) as (keyof typeof BACKEND_NAMES)[]
export type Backend = (typeof BACKENDS)[number]
export const tierName = (tier: SpeedTier) => TIER_NAMES[tier]
export const backendName = (backend: Backend) => BACKEND_NAMES[backend]

export type Column = (number | null)[]
/** uPlot's AlignedData: [x, ...series]. */
export type Columns = [number[], ...Column[]]

// Per-round charts show closed rounds only: an open round's figures are partial, and a line
// that drops to its so-far value at the end reads as a collapse.
const closed = (rounds: readonly RoundView[]) => rounds.filter((r) => r.closedAt !== null)

/** Held-out accuracy by round number (a gap where no evaluation ran). */
export function accuracyByRound(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  return [done.map((r) => r.round), done.map((r) => r.accuracy)]
}

/** Held-out loss and the devices' training loss by round number. */
export function lossByRound(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  return [done.map((r) => r.round), done.map((r) => r.loss), done.map((r) => r.trainingLoss)]
}

/** Held-out accuracy against wall-clock time (seconds since the epoch, at close). */
export function accuracyByTime(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  return [done.map((r) => Date.parse(r.closedAt!) / 1000), done.map((r) => r.accuracy)]
}

/** Seconds each round waited for its first device, by round number. */
export function waitingByRound(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  return [done.map((r) => r.round), done.map((r) => r.waitingSeconds)]
}

/** Seconds from each round's first device to its close (devices at work), by round number. */
export function trainingByRound(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  return [done.map((r) => r.round), done.map((r) => r.trainingSeconds)]
}

/** Bytes up (updates) and down (models) by round number. */
export function bytesByRound(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  return [done.map((r) => r.round), done.map((r) => r.bytesUp), done.map((r) => r.bytesDown)]
}

export interface ShareRow<K extends string> {
  key: K
  devices: number
  examples: number
  /** Fractions of all reports and of all examples; 0 when there were none. */
  deviceShare: number
  exampleShare: number
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : part / whole)

function shares<K extends string>(
  keys: readonly K[],
  pick: (r: RoundView) => Record<K, ParticipationShare>,
  rounds: readonly RoundView[],
): ShareRow<K>[] {
  const sums = keys.map((key) => ({ key, devices: 0, examples: 0 }))
  for (const r of rounds)
    for (const sum of sums) {
      const share = pick(r)[sum.key]
      sum.devices += share.devices
      sum.examples += share.examples
    }
  const devices = sums.reduce((n, s) => n + s.devices, 0)
  const examples = sums.reduce((n, s) => n + s.examples, 0)
  return sums.map((s) => ({
    ...s,
    deviceShare: ratio(s.devices, devices),
    exampleShare: ratio(s.examples, examples),
  }))
}

/**
 * Who trained the model over all rounds so far: reports and examples by speed tier and by
 * backend, with each one's share, and the reports that were partial work (stopped short of
 * their plan as the deadline neared), as shares of all reports and examples. The fairness
 * question: do fast phones shape the model?
 */
export function participation(rounds: readonly RoundView[]): {
  byTier: ShareRow<SpeedTier>[]
  byBackend: ShareRow<Backend>[]
  partial: ShareRow<'partial'>
} {
  const byTier = shares(SPEED_TIERS, (r) => r.participation.byTier, rounds)
  // Every report counts in one tier: the tiers' sums are all the reports and examples.
  const all = (key: 'devices' | 'examples') => byTier.reduce((n, row) => n + row[key], 0)
  const [partial] = shares(['partial'], (r) => r.participation, rounds) as [ShareRow<'partial'>]
  return {
    byTier,
    byBackend: shares(BACKENDS, (r) => r.participation.byBackend, rounds),
    partial: {
      ...partial,
      deviceShare: ratio(partial.devices, all('devices')),
      exampleShare: ratio(partial.examples, all('examples')),
    },
  }
}

/** One round's examples shared out: fractions of the examples reported in it, null if none. */
export interface RoundShares {
  round: number
  status: RoundView['status']
  examples: number
  byTier: Record<SpeedTier, number | null>
  byBackend: Record<Backend, number | null>
  /** Examples from reports that stopped short of their plan (partial work). */
  partial: number | null
}

/** The last `count` rounds, newest first, each with its examples by tier, backend and partial work. */
export function roundShares(rounds: readonly RoundView[], count = 5): RoundShares[] {
  return rounds
    .slice(-count)
    .reverse()
    .map(({ round, status, participation: p }) => {
      const examples = SPEED_TIERS.reduce((n, t) => n + p.byTier[t].examples, 0)
      const of = (share: ParticipationShare) => (examples === 0 ? null : share.examples / examples)
      const each = <K extends string>(keys: readonly K[], by: Record<K, ParticipationShare>) =>
        Object.fromEntries(keys.map((k) => [k, of(by[k])])) as Record<K, number | null>
      return {
        round,
        status,
        examples,
        byTier: each(SPEED_TIERS, p.byTier),
        byBackend: each(BACKENDS, p.byBackend),
        partial: of(p.partial),
      }
    })
}

export interface LabelAccuracy {
  /** The evaluated rounds shown, oldest first. */
  rounds: number[]
  /** One row per label (index = label): its held-out accuracy in each round shown. */
  labels: (number | null)[][]
  /** Per round shown, the label it got least right (null if no label was measured). */
  worst: (number | null)[]
}

/** Held-out accuracy per label in the last `count` evaluated rounds. */
export function labelAccuracy(rounds: readonly RoundView[], count = 5): LabelAccuracy {
  const shown = rounds.flatMap((r) =>
    r.accuracyByLabel ? [{ round: r.round, byLabel: r.accuracyByLabel }] : [],
  )
  const last = shown.slice(-count)
  const width = Math.max(0, ...last.map((r) => r.byLabel.length))
  return {
    rounds: last.map((r) => r.round),
    labels: Array.from({ length: width }, (_, label) => last.map((r) => r.byLabel[label] ?? null)),
    worst: last.map(({ byLabel }) =>
      byLabel.reduce<number | null>(
        (worst, a, label) =>
          a !== null && (worst === null || a < byLabel[worst]!) ? label : worst,
        null,
      ),
    ),
  }
}

/** Per closed round, each speed tier's share of the examples (null for a round with none). */
export function tierShareByRound(rounds: readonly RoundView[]): Columns {
  const done = closed(rounds)
  const columns: Columns = [done.map((r) => r.round)]
  for (const tier of SPEED_TIERS)
    columns.push(
      done.map((r) => {
        const total = SPEED_TIERS.reduce((n, t) => n + r.participation.byTier[t].examples, 0)
        return total === 0 ? null : r.participation.byTier[tier].examples / total
      }),
    )
  return columns
}

/**
 * An axis from 0 to a little above the largest value (1 when there is none): a quantity's
 * size reads true, where zooming to the data's own range makes 0.215 against 0.216 look like a
 * collapse.
 */
export function fromZero(max: number | null | undefined): [number, number] {
  return [0, max != null && max > 0 ? max * 1.1 : 1]
}
