import type { PrivacySettings } from '../../shared/protocol/index.ts'
import { DEFAULT_ORDERS, epsilonFromRdp, rdpSampledGaussian } from '../../shared/privacy/index.ts'
import type { PrivacySpent } from '../store/index.ts'

/**
 * The share of the eligible population a round samples: the devices it selects over the devices
 * that could have been selected (at least those selected, so q ≤ 1).
 */
export function samplingRate(selected: number, population: number): number {
  return Math.min(1, selected / Math.max(selected, population, 1))
}

/** What a task has spent after one more round at sampling rate `q` (RDP adds up over rounds). */
export function spendRound(
  spent: PrivacySpent | null,
  privacy: Pick<PrivacySettings, 'noiseMultiplier' | 'delta'>,
  q: number,
): PrivacySpent {
  const step = rdpSampledGaussian(q, privacy.noiseMultiplier, DEFAULT_ORDERS)
  // JSON stores an infinite order as null: it stays infinite, or ε would come out too small.
  const before = (i: number) => {
    const r = spent?.rdp[i] as number | null | undefined
    return r === null ? Number.POSITIVE_INFINITY : (r ?? 0)
  }
  const rdp = step.map((r, i) => r + before(i))
  return { rdp, epsilon: epsilonFromRdp(rdp, DEFAULT_ORDERS, privacy.delta).epsilon }
}
