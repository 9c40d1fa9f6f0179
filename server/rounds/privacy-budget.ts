import {
  type PrivacySettings,
  type RoundSettings,
  selectedPerRound,
} from '../../shared/protocol/index.ts'
import { isActive } from '../devices/index.ts'
import { samplingRate, spendRound } from '../privacy/budget.ts'
import type { TaskRecord } from '../store/index.ts'
import type { Core, LiveTask } from './live.ts'
import { holds } from './work.ts'

/**
 * What a device of a private task does to its update: clip, and in distributed mode add its
 * share of the noise. Each of the round's at least `minReports` updates carries noise of
 * variance σ²C²/minReports, so their sum carries at least the σ²C² the accountant counts on.
 */
export function devicePrivacy(privacy: PrivacySettings, minReports: number) {
  const { clipNorm, noiseMultiplier, mode } = privacy
  const noiseStd = mode === 'distributed' ? (noiseMultiplier * clipNorm) / Math.sqrt(minReports) : 0
  return { clipNorm, noiseStd }
}

/** Why a private task may not even start: one round would pass its budget. */
export function firstRoundRefusal(task: TaskRecord, population: number): string | undefined {
  const { privacy } = task.spec
  if (!privacy) return undefined
  const q = samplingRate(selectedPerRound(task.spec.rounds), population)
  const one = spendRound(null, privacy, q).epsilon
  if (one <= privacy.epsilonBudget) return undefined
  return `one round spends ε = ${one.toFixed(3)} at sampling rate q = ${q.toFixed(4)} (δ = ${privacy.delta}), more than the budget ${privacy.epsilonBudget}: raise noiseMultiplier or the budget, or give the population`
}

/** A private task's differential-privacy accounting: its population, sampling and ε spent. */
export function createPrivacyBudget(core: Core) {
  const { store, clock, events, log } = core

  /**
   * The devices that could be sampled for a private task: its setting, else the active devices
   * holding its data. Not the enrolled ones: devices long gone would shrink q, and so ε, below
   * what the rounds really spend.
   */
  async function populationOf(task: TaskRecord): Promise<number> {
    if (!task.spec.privacy) return 0
    if (task.spec.privacy.population !== undefined) return task.spec.privacy.population
    const devices = await store.listDevices()
    const now = clock.now()
    return devices.filter((d) => isActive(d, now) && holds(d, task.spec.dataset)).length
  }

  /** The sampling rate of a private task's rounds: devices selected over its population. */
  const sampling = (live: LiveTask, settings: RoundSettings = live.record.spec.rounds) =>
    samplingRate(selectedPerRound(settings), live.population)

  /** Why a private task's next round may not open (it would take ε past the budget), else null. */
  function exhausted(live: LiveTask): string | null {
    const task = live.record
    const { privacy } = task.spec
    if (!privacy) return null
    const next = spendRound(task.privacySpent, privacy, sampling(live)).epsilon
    if (next <= privacy.epsilonBudget) return null
    return `the next round would spend ε to ${next.toFixed(3)}, past the budget ${privacy.epsilonBudget} (δ = ${privacy.delta}); ε spent: ${(task.privacySpent?.epsilon ?? 0).toFixed(3)}`
  }

  /**
   * A private task whose next round would take ε past its budget completes instead, saying why.
   * Checked as each round would open, so a PATCH or a smaller population counts too.
   */
  function stopAtBudget(live: LiveTask): boolean {
    const task = live.record
    const reason = exhausted(live)
    if (!reason) return false
    task.status = 'completed'
    task.stoppedReason = reason
    task.updatedAt = clock.now()
    const { status, stoppedReason, updatedAt } = task
    void core.enqueue(live, () => store.updateTask(task.id, { status, stoppedReason, updatedAt }))
    log(`task ${task.id} stopped: ${task.stoppedReason}`)
    events.publish({ type: 'task.updated', task: core.view(live) })
    return true
  }

  /** Round `n`'s noised sum left the round: the task spends its ε, at the rate fixed at open. */
  function charge(live: LiveTask, n: number): void {
    const { privacy } = live.record.spec
    const round = live.open
    if (!privacy || round?.record.round !== n) return
    live.record.privacySpent = spendRound(live.record.privacySpent, privacy, round.sampling)
    round.record.epsilon = live.record.privacySpent.epsilon
  }

  return { populationOf, sampling, exhausted, stopAtBudget, charge }
}

export type PrivacyBudget = ReturnType<typeof createPrivacyBudget>
