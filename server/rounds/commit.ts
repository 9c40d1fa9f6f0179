import { allFinite } from '../../shared/aggregation/index.ts'
import type { ModelSpec } from '../../shared/models/index.ts'
import type { NamedTensor } from '../../shared/tensors/index.ts'
import type { Failure } from '../strategy/index.ts'
import { commitRefusal } from './commit-check.ts'
import type { Core, LiveRound, LiveTask } from './live.ts'
import { retryWrite, RetryStopped } from './retry.ts'

/** A round's commit: aggregate through the strategy, evaluate, store the model, count it. */
export function createCommit(core: Core) {
  const { models, evaluator, clock, events, log, health, tasks } = core

  /**
   * Stores a round's new weights, trying again until the blob store takes them: a storage error
   * holds the round (its model in memory) and says so in the task's error and in /healthz; it
   * does not fail the task.
   */
  async function keep(live: LiveTask, n: number, weights: readonly NamedTensor[]) {
    const task = live.record
    let failed = false
    const write = () =>
      tasks.has(task.id)
        ? models.store(weights)
        : Promise.reject(new RetryStopped(`task ${task.id} was deleted`))
    const hash = await retryWrite(write, {
      what: `blob store: task ${task.id} round ${n}`,
      clock,
      health,
      signal: core.stopping,
      ...core.storageRetry,
      onFailure(error, retryInMs) {
        failed = true
        task.error = `round ${n} is waiting to be committed: storing its model failed (${error instanceof Error ? error.message : String(error)}); trying again in ${Math.round(retryInMs / 1000)} s`
        log(`task ${task.id}: ${task.error}`)
        events.publish({ type: 'task.updated', task: core.view(live) })
      },
    })
    if (failed) task.error = null
    return hash
  }

  /** The round's selected devices that contributed nothing, and why. */
  const failuresOf = (round: LiveRound): Failure[] =>
    [...round.devices].flatMap(([deviceId, state]) =>
      state === 'assigned' || state === 'rejected'
        ? [
            {
              deviceId,
              reason: state === 'assigned' ? ('dropped' as const) : ('rejected' as const),
            },
          ]
        : [],
    )

  /**
   * The strategy's next weights for the round (null: it keeps the model), its bounds noted. The
   * strategy sees only the weights updates carry; a frozen layer's are put back as they were.
   */
  async function aggregate(live: LiveTask, round: LiveRound) {
    const r = round.record
    const global = await models.weights(r.baseModel)
    try {
      const next = await live.strategy.aggregateTrain({
        round: r.round,
        global: updatedPart(global, live.info.updateSpec),
        aggregation: round.aggregation,
        failures: failuresOf(round),
      })
      return next && withFrozen(global, next)
    } finally {
      // A round that closes before its bounds calibrated calibrates them on what came.
      const bounds = round.aggregation.bounds?.()
      if (bounds) r.updateBounds = bounds
    }
  }

  /**
   * Aggregates a round that has its reports and commits the new model, or says why not (the
   * strategy kept the old one, or the new one is not fit to commit: then the strategy's state
   * goes back to what it was, and the task carries on from the model it had).
   */
  return async function commit(live: LiveTask, round: LiveRound): Promise<string | null> {
    const task = live.record
    const r = round.record
    const { strategy } = live
    const before = strategy.state?.()
    const next = await aggregate(live, round)
    if (!next) return 'the strategy kept the previous model'
    const evaluated =
      allFinite(next) && strategy.configureEvaluate({ round: r.round }).heldOut
        ? await evaluator
            .evaluate(task.spec.model as ModelSpec, next, task.spec.dataset)
            .catch((error: unknown) => {
              log(`evaluation of task ${task.id} round ${r.round} failed: ${String(error)}`)
              return null
            })
        : null
    const refusal = commitRefusal(next, evaluated)
    if (refusal) {
      if (before && strategy.restore) strategy.restore(before, live.info.updateSpec)
      return refusal
    }
    const hash = await keep(live, r.round, next)
    // The optimizer's moments are persisted beside the model they led to.
    const state = strategy.state?.() ?? []
    if (state.length > 0) task.optimizerState = await keep(live, r.round, state)
    const metrics = strategy.aggregateEvaluate({ round: r.round, heldOut: evaluated })
    Object.assign(r, { status: 'committed', model: hash, ...metrics })
    task.modelHash = hash
    task.committedRounds += 1
    live.bounds = r.updateBounds
    if (task.committedRounds >= task.spec.rounds.total) task.status = 'completed'
    return null
  }
}

export type Commit = ReturnType<typeof createCommit>

/** The weights of `global` that updates carry, in `spec` order. */
export function updatedPart(
  global: readonly NamedTensor[],
  spec: readonly { name: string }[],
): NamedTensor[] {
  const byName = new Map(global.map((t) => [t.name, t]))
  return spec.map((w) => {
    const t = byName.get(w.name)
    if (!t) throw new RangeError(`the global model lacks ${w.name}`)
    return t
  })
}

/**
 * The committed model: `global`'s weights in its order, each replaced by the strategy's new one
 * where there is one; a frozen weight (none in `next`) is `global`'s own, bit for bit.
 */
export function withFrozen(
  global: readonly NamedTensor[],
  next: readonly NamedTensor[],
): NamedTensor[] {
  const byName = new Map(next.map((t) => [t.name, t]))
  return global.map((t) => byName.get(t.name) ?? t)
}
