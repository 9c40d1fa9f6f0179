// How a task turns a round's (or a buffer's) updates into the next model: the server optimizer,
// the weighting, the robust rules and the bounds on one device's update. TaskSpecSchema holds
// these settings under `aggregation` and checks them against the rest of the spec.
import { z } from 'zod'

const finitePositive = z.number().finite().positive()

/** How the server turns a round's (or a buffer's) updates into the next model. */
export const SERVER_OPTIMIZERS = ['fedavg', 'fedavgm', 'fedadam', 'fedyogi'] as const
export type ServerOptimizer = (typeof SERVER_OPTIMIZERS)[number]
/**
 * How updates are weighted: by examples (FedAvg), equally, or `normalized` (FedNova, Wang et al.
 * 2020): each delta divided by its local steps before the example-weighted mean, then scaled by
 * the mean's effective steps, so a device that did more steps does not pull harder.
 */
export const WEIGHTINGS = ['examples', 'uniform', 'normalized'] as const
export type Weighting = (typeof WEIGHTINGS)[number]

/**
 * `mean`: the task's weighting and server optimizer, streamed (memory O(model)). The robust rules
 * keep every report of the round (memory O(n × model)) and are refused with privacy or secure
 * aggregation: `median` (coordinate-wise, unweighted), `trimmed-mean` (per coordinate, cutting
 * ⌊trim × n⌋ from each end, unweighted), `multi-krum` (Blanchard et al. 2017: keeps the m
 * reports nearest their n − f − 2 nearest, averaged under the task's weighting).
 */
export const AGGREGATION_RULES = ['mean', 'median', 'trimmed-mean', 'multi-krum'] as const
export type AggregationRule = (typeof AGGREGATION_RULES)[number]
/** Rules that weigh every report once, whatever its examples. */
export const UNWEIGHTED_RULES: readonly AggregationRule[] = ['median', 'trimmed-mean']
/** An adaptive bound calibrates on a round's first min(minReports, this) reports (async: bufferSize). */
export const BOUNDS_CALIBRATION_REPORTS = 9
/**
 * The adaptive norm bound: the lower quartile of the calibration reports' norms. Updates that
 * attackers blew up sit at the top, so they must hold three quarters of the calibration reports
 * to set the bound (a median fell to half: with 30% of devices attacking, one round in six).
 */
export const NORM_BOUND_QUANTILE = 0.25
/** The adaptive weight cap: this many times the lower median of the calibration reports' examples. */
export const WEIGHT_CAP_MULTIPLE = 2
/**
 * An adaptive bound rises at most this many times over the last committed round's: attackers who
 * happen to hold most of one round's calibration reports raise the bound that far, not to their
 * own norm (falling is free, as honest updates shrink while a model converges).
 */
export const BOUND_GROWTH = 2

export const AggregationSettingsSchema = z.strictObject({
  weighting: z.enum(WEIGHTINGS).default('examples'),
  /** Reddi et al. 2021 ("Adaptive Federated Optimization"): FedAvg, FedAvgM, FedAdam, FedYogi. */
  optimizer: z.enum(SERVER_OPTIMIZERS).default('fedavg'),
  /** η, the server learning rate on the aggregated delta (a pseudo-gradient's negative). */
  serverLearningRate: finitePositive.max(100).default(1),
  /** FedAvgM's server momentum β. */
  momentum: z.number().finite().min(0).max(0.999).default(0.9),
  /** FedAdam's and FedYogi's β₁, β₂ and τ (their ε: the adaptivity floor). */
  beta1: z.number().finite().min(0).max(0.999).default(0.9),
  beta2: z.number().finite().min(0).max(0.9999).default(0.99),
  tau: finitePositive.max(1).default(1e-3),
  // ---- robust rules (Flower's FedMedian, FedTrimmedAvg, Krum): see AGGREGATION_RULES ----
  /** How a round's deltas become one before the server optimizer's step. */
  rule: z.enum(AGGREGATION_RULES).default('mean'),
  /**
   * trimmed-mean: the share cut from each end, per coordinate (⌊trim × n⌋ reports each). 0.2 as
   * Flower's FedTrimmedAvg (beta): it cuts one from each end of the default 5 reports a round.
   */
  trim: z.number().finite().gt(0).lt(0.5).default(0.2),
  /** multi-krum: f, the attackers a round is guarded against; it needs n ≥ 2f + 3 reports. */
  byzantine: z.number().int().min(0).max(1000).default(1),
  /** multi-krum: m, the best-scored reports averaged; absent (or above n − f): n − f. */
  krumSelect: z.number().int().min(1).max(10_000).optional(),
  /**
   * Every update's L2 norm is clipped to this before it is aggregated: `"adaptive"` (the round's
   * own: the lower quartile of its first reports' norms, rising at most BOUND_GROWTH times a round), a fixed bound, or `"off"`. Private tasks
   * clip to `privacy.clipNorm` (or `secureAggregation.range`) instead and ignore it.
   */
  normBound: z.union([z.enum(['adaptive', 'off']), finitePositive.max(1e12)]).default('adaptive'),
  /**
   * An update's weight (its examples) is capped at WEIGHT_CAP_MULTIPLE times the lower median of
   * the round's first reports' examples: `"adaptive"`, or `"off"`. Ignored by private tasks.
   */
  weightBound: z.enum(['adaptive', 'off']).default('adaptive'),
})
export type AggregationSettings = z.infer<typeof AggregationSettingsSchema>

/**
 * The fewest reports a round needs for its rule to bound what one device can do: a median of two
 * is their mean; a trimmed mean must cut at least one report from each end; Multi-Krum scores
 * each report by its n − f − 2 nearest, which needs n ≥ 2f + 3 (Blanchard et al. 2017).
 */
export function minimumReports(a: Pick<AggregationSettings, 'rule' | 'trim' | 'byzantine'>) {
  switch (a.rule) {
    case 'mean':
      return 1
    case 'median':
      return 3
    case 'trimmed-mean':
      // The smallest n with ⌊trim × n⌋ ≥ 1; the 1e-9 keeps 1/0.1 from rounding up to 11.
      return Math.ceil(1 / a.trim - 1e-9)
    case 'multi-krum':
      return 2 * a.byzantine + 3
  }
}

/** Why `reports` per round are too few for the rule (field and message), or null. */
export function tooFewReports(
  a: Pick<AggregationSettings, 'rule' | 'trim' | 'byzantine'>,
  reports: number,
  what: string,
): { field: string; message: string } | null {
  const needed = minimumReports(a)
  if (reports >= needed) return null
  const why = {
    mean: '',
    median: 'a median of fewer than three reports is their mean, which one device moves at will',
    'trimmed-mean': `⌊trim × ${reports}⌋ cuts no report from either end, so the mean is not trimmed`,
    'multi-krum': `with f = ${a.byzantine} it needs n ≥ 2f + 3 reports to score each by its n − f − 2 nearest`,
  }[a.rule]
  const field = { mean: 'rule', median: 'rule', 'trimmed-mean': 'trim', 'multi-krum': 'byzantine' }
  return {
    field: `aggregation.${field[a.rule]}`,
    message: `"${a.rule}" needs ${what} of at least ${needed}, not ${reports}: ${why}`,
  }
}
