// A task's privacy terms in words its owner can weigh, for the consent cards and the ledger. Loaded
// when first needed: the words stay out of the page's first bundle.
import type { DevicePrivacyView } from '../../../shared/protocol/index.ts'
import { readDifferentialPrivacy } from './ledger.ts'

/** "8", "0.5", "12.3", "0.00001": three significant digits, no exponent. */
export const formatNumber = (x: number): string =>
  x.toLocaleString('en', { maximumSignificantDigits: 3 })

/** "ε 1.2 spent of 8, at δ = 0.00001 (15%)". */
export function epsilonText(dp: {
  epsilonSpent: number
  epsilonBudget: number
  delta: number
}): string {
  const share =
    dp.epsilonBudget > 0 ? ` (${Math.round((100 * dp.epsilonSpent) / dp.epsilonBudget)}%)` : ''
  return (
    `ε ${formatNumber(dp.epsilonSpent)} spent of ${formatNumber(dp.epsilonBudget)}, ` +
    `at δ = ${formatNumber(dp.delta)}${share}`
  )
}

export const SECURE_AGGREGATION_TEXT =
  "Secure aggregation: the coordinator can only see the sum of many phones' updates, never " +
  "this phone's alone (only how many examples and steps it used)."

export const NO_PRIVACY_TEXT =
  "None: no differential privacy and no secure aggregation. The coordinator sees this phone's " +
  'weight update by itself, not only mixed with others.'

/**
 * The privacy a task offers, as sentences for its consent card: what is clipped and noised and
 * by whom, the ε budget and how much is spent, what secure aggregation hides, and, plainly, what
 * the coordinator can still see.
 */
export function privacyTerms(view: DevicePrivacyView | undefined): string[] {
  const dp = readDifferentialPrivacy(view)
  const sa = view?.secureAggregation === true
  if (dp === undefined) {
    return [
      "The coordinator described this task's differential privacy with values that do not make " +
        'sense, so Pollen cannot say what it protects. Take it as none: the coordinator may see ' +
        "this phone's update.",
      ...(sa ? [SECURE_AGGREGATION_TEXT] : []),
    ]
  }
  if (!dp) {
    return sa
      ? [
          SECURE_AGGREGATION_TEXT,
          'No differential privacy: the sum and the model are not noised, and no ε bounds what ' +
            "they reveal about this phone's examples.",
        ]
      : [NO_PRIVACY_TEXT]
  }
  const clip = `its size capped at ${formatNumber(dp.clipNorm)}`
  const noise = `noise ${formatNumber(dp.noiseMultiplier)} times that cap`
  const how =
    dp.mode === 'central'
      ? `Differential privacy: each update is clipped (${clip}) on this phone, and the ` +
        `coordinator adds random ${noise} to the sum of the round's updates.`
      : `Differential privacy: each update is clipped (${clip}), and this phone adds its share ` +
        `of the random noise (in all, ${noise}) before sending it.`
  const budget =
    `Privacy loss budget: ε = ${formatNumber(dp.epsilonBudget)} at δ = ${formatNumber(dp.delta)}; ` +
    `so far the task has spent ε = ${formatNumber(dp.epsilonSpent)}. The smaller ε, the less ` +
    "the model can reveal about any one phone's examples; the task stops before it would spend more."
  const seen = sa
    ? SECURE_AGGREGATION_TEXT
    : dp.mode === 'central'
      ? "No secure aggregation: the coordinator sees this phone's clipped update by itself, " +
        'before it adds the noise.'
      : "No secure aggregation: the coordinator sees this phone's clipped update by itself, " +
        "with only this phone's share of the noise, which alone protects it little."
  return [how, budget, seen]
}
