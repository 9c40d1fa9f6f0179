import { isPrivate, type UpdateBounds } from '../../shared/protocol/index.ts'
import type { TaskRecord } from '../store/index.ts'
import { type Strategy, withPrivateMean, withUpdateBounds } from '../strategy/index.ts'
import type { RoundPolicy } from './live.ts'
import { calibrationReports, roundBounds } from './update-bounds.ts'

/**
 * A task's strategy as its rounds use it: `base` inside its mode's wrapper (FedBuff's staleness
 * weighting), inside either the private mean (privacy or secure aggregation: every update
 * clipped and counted once, noise where the server adds it, ε charged as the sum leaves) or the
 * update bounds (the norm bound and weight cap of every other task).
 */
export function taskStrategy(
  base: Strategy,
  {
    record,
    policy,
    previousBounds,
    charge,
    log,
  }: {
    /** The task (its spec is read as each round begins: a PATCH applies from the next). */
    record: TaskRecord
    /** Only its mode's wrapper is asked for. */
    policy: Pick<RoundPolicy, 'wrap'>
    /** The bounds the last committed round applied. */
    previousBounds: () => UpdateBounds | null
    charge: (round: number) => void
    log: (message: string) => void
  },
): Strategy {
  const strategy = policy.wrap(base, { record })
  const { privacy } = record.spec
  if (isPrivate(record.spec))
    return withPrivateMean(strategy, {
      clipNorm: privacy?.clipNorm ?? Number.POSITIVE_INFINITY,
      noiseStd: privacy?.mode === 'central' ? privacy.noiseMultiplier * privacy.clipNorm : 0,
      onRelease: charge,
    })
  // The bounds of each round start from those the last committed round applied.
  return withUpdateBounds(
    strategy,
    () => roundBounds(record.spec.aggregation, calibrationReports(record.spec), previousBounds()),
    { log },
  )
}
