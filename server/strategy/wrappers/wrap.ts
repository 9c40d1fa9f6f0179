import type { RoundAggregation, Strategy } from '../types.ts'

/**
 * A strategy that changes how a round's reports reach `inner` (Flower's strategy wrappers):
 * `begin` builds the outer aggregation over the inner one, and `finish` runs before the inner
 * aggregateTrain (to hand it what the outer one held back). Everything else is `inner`'s.
 */
export function wrapStrategy(
  inner: Strategy,
  name: string,
  hooks: {
    begin(
      input: Parameters<Strategy['beginRound']>[0],
      aggregation: RoundAggregation,
    ): RoundAggregation
    finish?(round: number, outer: RoundAggregation, aggregation: RoundAggregation): void
  },
): Strategy {
  const rounds = new WeakMap<RoundAggregation, RoundAggregation>()
  return {
    name: `${name}(${inner.name})`,
    configureTrain: (input) => inner.configureTrain(input),
    beginRound(input) {
      const aggregation = inner.beginRound(input)
      const outer = hooks.begin(input, aggregation)
      rounds.set(outer, aggregation)
      return outer
    },
    aggregateTrain(input) {
      const aggregation = rounds.get(input.aggregation)
      if (!aggregation) throw new Error(`${name}: a round this strategy did not begin`)
      hooks.finish?.(input.round, input.aggregation, aggregation)
      return inner.aggregateTrain({ ...input, aggregation })
    },
    configureEvaluate: (input) => inner.configureEvaluate(input),
    aggregateEvaluate: (input) => inner.aggregateEvaluate(input),
    ...(inner.state && { state: () => inner.state!() }),
    ...(inner.restore && { restore: (state, spec) => inner.restore!(state, spec) }),
  }
}
