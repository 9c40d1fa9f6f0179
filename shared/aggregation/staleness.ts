/**
 * FedBuff's weight for an update computed `staleness` versions behind the current model
 * (Nguyen et al. 2022): 1/(1 + τ)^a. τ = 0 or a = 0 gives 1; a = 0.5 halves an update 3 behind.
 */
export function stalenessWeight(staleness: number, exponent: number): number {
  if (!(staleness >= 0) || !Number.isFinite(staleness))
    throw new RangeError(`staleness ${staleness} is not a finite non-negative number`)
  if (!(exponent >= 0) || !Number.isFinite(exponent))
    throw new RangeError(`staleness exponent ${exponent} is not a finite non-negative number`)
  return 1 / (1 + staleness) ** exponent
}
