import { decodeContainer } from '../../shared/tensors/index.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import type { RoundAggregation } from '../strategy/index.ts'
import type { Ledger, PartialSum } from './ledger.ts'

const sameDevices = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((d, i) => d === b[i])

/**
 * Hierarchical aggregation: each replica writes its partial sum of a closing round (the devices
 * it covers named), and the round's owner merges them. A replica that is dead, or whose partial
 * does not cover what it spooled within `waitMs`, is replaced by its spooled updates; a round
 * whose maths does not add up (a robust rule, a bound calibrated within the round) is fed the
 * whole spool.
 */
export function createPartials(
  core: Core,
  {
    ledger,
    replicaId,
    alive,
    waitMs,
    pollMs,
  }: {
    ledger: Ledger
    replicaId: string
    alive: (replicaId: string) => Promise<boolean>
    waitMs: number
    pollMs: number
  },
) {
  const { clock, log } = core
  /** How many devices each round's written partial covered (written again if more came). */
  const written = new WeakMap<LiveRound, number>()

  const devicesOf = (round: LiveRound) =>
    [...round.devices].flatMap(([id, state]) => (state === 'reported' ? [id] : [])).sort()

  /** This replica's partial of a closing round, stored (once per set of devices it covers). */
  async function write(live: LiveTask, round: LiveRound): Promise<void> {
    const partial = round.aggregation.partial
    const devices = devicesOf(round)
    if (!partial || devices.length === 0 || written.get(round) === devices.length) return
    const state = partial()
    const sum: PartialSum = {
      taskId: live.record.id,
      round: round.record.round,
      replicaId,
      devices,
      reports: state.reports,
      examples: state.examples,
      weight: state.weight,
      sum: state.sum,
      extra: state.extra,
      writtenAt: clock.now(),
    }
    await ledger.writePartial(sum)
    written.set(round, devices.length)
  }

  /** Folds spooled updates into `aggregation`, as the replicas that took them did. */
  async function foldSpool(
    live: LiveTask,
    n: number,
    aggregation: RoundAggregation,
    replicaIds?: readonly string[],
  ) {
    for await (const row of ledger.spool(live.record.id, n, replicaIds)) {
      try {
        aggregation.accept({
          deviceId: row.deviceId,
          delta: decodeContainer(row.bytes).tensors,
          examples: row.examples,
          steps: row.steps,
          ...(row.loss !== null ? { loss: row.loss } : {}),
          ...(row.staleness !== null ? { staleness: row.staleness } : {}),
        })
      } catch (error) {
        log(`task ${live.record.id} round ${n}: spooled ${row.deviceId} left out: ${String(error)}`)
      }
    }
  }

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms))

  /**
   * The owner's aggregation of round `n`: every replica's partial merged where it covers what
   * that replica spooled, the spool folded for the rest. Waits up to `waitMs` for replicas that
   * are alive to write theirs.
   */
  async function gather(live: LiveTask, n: number, aggregation: RoundAggregation) {
    const { merge } = aggregation
    if (!merge) return foldSpool(live, n, aggregation)
    const spooled = await ledger.spooledBy(live.record.id, n)
    const pending = new Set(spooled.keys())
    const until = clock.now() + waitMs
    const fallback: string[] = []
    while (pending.size > 0) {
      const partials = new Map(
        (await ledger.partials(live.record.id, n)).map((p) => [p.replicaId, p]),
      )
      for (const id of [...pending]) {
        const p = partials.get(id)
        if (p && sameDevices(p.devices, spooled.get(id)!)) {
          pending.delete(id)
          try {
            merge(p)
          } catch (error) {
            log(
              `task ${live.record.id} round ${n}: the partial of ${id} does not fit (${String(error)}): its spool is read`,
            )
            fallback.push(id)
          }
        } else if (id !== replicaId && !(await alive(id))) {
          fallback.push(id)
          pending.delete(id)
        }
      }
      if (pending.size === 0) break
      if (clock.now() >= until) {
        log(
          `task ${live.record.id} round ${n}: no partial from ${[...pending].join(', ')} in ${waitMs} ms: their spool is read`,
        )
        fallback.push(...pending)
        break
      }
      await sleep(pollMs)
    }
    if (fallback.length > 0) await foldSpool(live, n, aggregation, fallback)
  }

  return { write, gather }
}

export type Partials = ReturnType<typeof createPartials>
